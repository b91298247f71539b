import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

/**
 * The README tour as a test: every command of the README's tour (the `sh` blocks of "A five-minute tour")
 * and of "Prompts as code", read from README.md and run in order with the built CLI against one fresh
 * `serve --demo`. The tour runs where the server runs (the CLI finds its key in `.promptops/credentials.json`,
 * as the README says); "Prompts as code" in a folder of its own with PROMPTOPS_API_KEY exported.
 *
 * How the README's blocks read:
 * - a line starting with `promptops` is a command; a `# …` after it, and indented `#` lines under it, say
 *   what it is for;
 * - a line starting with `#   ` at column 0 shows what the command above prints: each such line must appear
 *   in its output (stdout, then stderr), in order. `…` elides (the pieces between must appear in order), a
 *   trailing `<- …` annotates, runs of whitespace count as one space (tables align and wrap by content), and
 *   dates, times and millisecond durations match any value. Shas are matched as printed: the demo's content
 *   is fixed, and a sha is its content's address;
 * - the exit code is 1 where a printed line says FAIL, refused or error:, or the comment says "exit 1";
 *   else 0.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** What CI would have in $GITHUB_SHA for `push -m "$GITHUB_SHA"`. */
const GITHUB_SHA = '0123456789abcdef0123456789abcdef01234567';

/** Lines the test does not run, and why; the test fails unless these are exactly the lines it skipped. */
const SKIPPED_BY_DESIGN: Record<string, string> = {
  '$EDITOR prompts/example_greeter.prompt.yaml':
    'opens an editor for a person; the test pushes the file as `promptops init` scaffolded it',
};

interface Step {
  readonly section: string;
  /** The line as the README has it (the command and its trailing comment). */
  readonly line: string;
  /** The comment after the command and its indented continuation lines. */
  readonly comment: string[];
  /** The `#   ` lines under the command: what it prints. */
  readonly printed: string[];
}

const sectionOf = (title: string): string => {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`README.md has no "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
};

const stepsOf = (title: string): Step[] => {
  const steps: { section: string; line: string; comment: string[]; printed: string[] }[] = [];
  for (const [, block] of sectionOf(title).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block!.split('\n')) {
      if (line.trim() === '') continue;
      const last = steps.at(-1);
      if (line.startsWith('#')) {
        const printed = /^# {3}(.*)$/.exec(line);
        if (printed === null || last === undefined) throw new Error(`README ${title}: cannot read "${line}"`);
        last.printed.push(printed[1]!);
      } else if (/^\s+#/.test(line)) {
        if (last === undefined) throw new Error(`README ${title}: a comment under nothing: "${line}"`);
        last.comment.push(line.trim().replace(/^#\s*/, ''));
      } else {
        const comment = / #\s*(.*)$/.exec(line)?.[1];
        steps.push({ section: title, line, comment: comment === undefined ? [] : [comment], printed: [] });
      }
    }
  }
  return steps;
};

const STEPS = [...stepsOf('A five-minute tour'), ...stepsOf('Prompts as code')];

/** Shell words of a line, the way sh reads this README's lines: quotes, $VAR, a `#` comment, `<placeholders>`. */
const shellWords = (line: string, variable: (name: string) => string): string[] => {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const expand = (): string => {
    const match = /^\$(?:\{(\w+)\}|(\w+))/.exec(line.slice(i));
    if (match === null) throw new Error(`cannot expand "${line.slice(i)}" in: ${line}`);
    i += match[0].length;
    return variable(match[1] ?? match[2]!);
  };
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word ??= '';
      i += 1;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
        if (line[i] === '$') word += expand();
        else if (line[i] === '\\' && /["\\$`]/.test(line[i + 1] ?? '')) {
          word += line[i + 1];
          i += 2;
        } else word += line[i++];
      }
      i += 1;
    } else if (c === '$') {
      word = (word ?? '') + expand();
    } else if (c === '<' && /^<\w+>/.test(line.slice(i))) {
      const placeholder = /^<\w+>/.exec(line.slice(i))![0];
      word = (word ?? '') + placeholder;
      i += placeholder.length;
    } else if ('|&;<>`()\\'.includes(c)) {
      throw new Error(`the test runs single commands only; "${c}" in: ${line}`);
    } else {
      word = (word ?? '') + c;
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
};

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Dates (with a time), times and millisecond durations vary from run to run. */
const VARIABLE = /(\d{4}-\d\d-\d\d(?: \d\d:\d\d(?::\d\d)?Z?)?|\b\d+ ms\b)/;
const patternOf = (piece: string): string =>
  piece
    .split(VARIABLE)
    .map((part, index) =>
      index % 2 === 0
        ? escape(part)
        : /ms$/.test(part)
          ? '\\d+ ms'
          : part.replace(/\d/g, '_').replace(/_+/g, (run) => `\\d{${run.length}}`),
    )
    .join('');
const squeeze = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Each printed line's pieces, found in order in the output (whitespace squeezed). */
const expectPrinted = (output: string, printed: readonly string[], fill: (text: string) => string): void => {
  const text = squeeze(output);
  let from = 0;
  for (const line of printed) {
    const shown = fill(line.replace(/\s+<-\s.*$/, ''));
    for (const piece of shown.split('…').map(squeeze)) {
      if (piece === '') continue;
      const pattern = new RegExp(patternOf(piece), 'g');
      pattern.lastIndex = from;
      const match = pattern.exec(text);
      expect(match, `the README prints "${line}": "${piece}" not found after offset ${from} in:\n${output}`).not.toBe(
        null,
      );
      from = match!.index + match![0].length;
    }
  }
};

const exitCodeOf = (step: Step): number =>
  step.comment.some((text) => /\bexit 1\b/.test(text)) ||
  step.printed.some((text) => /\bFAIL\b|\brefused\b|^error:/.test(text))
    ? 1
    : 0;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('PROMPTOPS_') && name !== 'FORCE_COLOR') env[name] = value;
  return { ...env, NO_COLOR: '1', GITHUB_SHA };
};

const runCommand = (argv: readonly string[], cwd: string, env: Record<string, string>): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });

describe("the README's tour and Prompts as code, run as printed on a fresh demo", () => {
  let server: ChildProcess | undefined;
  let url = '';
  let adminKey = '';
  const dirs: Record<string, string> = {};
  /** `alias promptops=…`: the node script the README's commands run. */
  let promptops: string[] | undefined;
  /** Variables set by the README's `export` lines, per section. */
  const exported: Record<string, Record<string, string>> = {};
  const results = new Map<string, Ran>();
  const skipped: string[] = [];

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npm run build)`);
    // The tour runs in "the same directory" as the server: a copy of the clone's examples beside its data.
    dirs['A five-minute tour'] = await tempDir('promptops-readme-tour-');
    await cp(join(ROOT, 'examples'), join(dirs['A five-minute tour'], 'examples'), { recursive: true });
    dirs['Prompts as code'] = await tempDir('promptops-readme-code-');

    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], {
      cwd: dirs['A five-minute tour'],
      env: baseEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    let seen = '';
    url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match) resolve(match[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`serve --demo exited ${code}:\n${seen}`)));
    });
    const credentials = JSON.parse(
      await readFile(join(dirs['A five-minute tour'], '.promptops/credentials.json'), 'utf8'),
    ) as { url: string; apiKey: string };
    expect(credentials.url).toBe(url);
    adminKey = credentials.apiKey;
  });

  afterAll(async () => {
    const child = server;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    for (const dir of Object.values(dirs)) await rm(dir, { recursive: true, force: true });
  });

  /** How each `<placeholder>` is filled. */
  const placeholders: Record<string, () => Promise<string>> = {
    // The id of the key the README's `keys create ci` made: `keys list --json` names it, and `keys create`
    // announced the same id on stderr.
    '<keyId>': async () => {
      const listed = await runCommand(
        [...promptops!, 'keys', 'list', '--json'],
        dirs['A five-minute tour']!,
        baseEnv(),
      );
      expect(listed.code, listed.stderr).toBe(0);
      const keys = (JSON.parse(listed.stdout) as { keys: { keyId: string; name: string }[] }).keys;
      const ci = keys.filter((key) => key.name === 'ci');
      expect(ci).toHaveLength(1);
      const created = results.get('promptops keys create ci --role reviewer');
      expect(created?.stderr).toContain(`created key ${ci[0]!.keyId} "ci"`);
      return ci[0]!.keyId;
    },
  };
  const filled: Record<string, string> = {};
  const fill = (text: string): string => text.replace(/<\w+>/g, (name) => filled[name] ?? name);

  /** What a README comment claims beyond printed output, checked after its command. */
  const extraChecks: Record<string, (ran: Ran, cwd: string) => Promise<void>> = {
    // "refused from then on": the secret `keys create ci` printed no longer works.
    'promptops keys revoke <keyId>': async () => {
      const secret = results.get('promptops keys create ci --role reviewer')!.stdout.trim();
      expect(secret).toMatch(/^po_/);
      const env = { ...baseEnv(), PROMPTOPS_URL: url, PROMPTOPS_API_KEY: secret };
      const refused = await runCommand([...promptops!, 'prompts'], dirs['Prompts as code']!, env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('revoked');
    },
    // "promptops.yaml (url: http://127.0.0.1:4680, the demo server), …, and .promptops/ … in .gitignore"
    'promptops init': async (_ran, cwd) => {
      expect(await readFile(join(cwd, 'promptops.yaml'), 'utf8')).toMatch(/^url: http:\/\/127\.0\.0\.1:4680$/m);
      expect(existsSync(join(cwd, 'prompts/example_greeter.prompt.yaml'))).toBe(true);
      expect(existsSync(join(cwd, '.github/workflows/promptops.yml'))).toBe(true);
      expect(await readFile(join(cwd, '.gitignore'), 'utf8')).toMatch(/^\.promptops\/$/m);
    },
  };
  const checked = new Set<string>();

  for (const step of STEPS) {
    it(`${step.section}: ${step.line.replace(/\s+#.*$/, '')}`, { timeout: 60_000 }, async () => {
      const cwd = dirs[step.section]!;
      const env = { ...baseEnv(), ...exported[step.section] };
      // Prompts as code talks to the demo by URL: `init` writes :4680, this demo listens on a free port.
      if (step.section === 'Prompts as code') env['PROMPTOPS_URL'] = url;
      const variable = (name: string): string => {
        if (name === 'PWD') return step.section === 'A five-minute tour' ? ROOT.replace(/\/$/, '') : cwd;
        const value = env[name];
        if (value === undefined) throw new Error(`the README uses $${name}, which the test does not set`);
        return value;
      };
      const command = step.line.replace(/\s+#.*$/, '');

      if (!/^(promptops|alias|export)\s/.test(step.line)) {
        expect(SKIPPED_BY_DESIGN, `a README line the test cannot run: ${step.line}`).toHaveProperty([command]);
        skipped.push(command);
        return;
      }
      const words = shellWords(step.line, variable);
      if (words[0] === 'alias') {
        // alias promptops="node $PWD/packages/cli/dist/bin.js": the built CLI of this clone.
        const [name, value] = words[1]!.split(/=(.*)/s);
        expect(name).toBe('promptops');
        const target = value!.split(' ');
        expect(target).toEqual(['node', BIN]);
        promptops = target.slice(1);
        return;
      }
      if (words[0] === 'export') {
        // export PROMPTOPS_API_KEY=po_…: "the admin key `npm start` printed (also in … credentials.json)".
        const [name, value] = words[1]!.split(/=(.*)/s);
        expect(name).toBe('PROMPTOPS_API_KEY');
        expect(value).toMatch(/^po_/);
        exported[step.section] = { ...exported[step.section], PROMPTOPS_API_KEY: adminKey };
        return;
      }

      expect(promptops, 'the alias comes before the first command').toBeDefined();
      for (const name of new Set(words.join(' ').match(/<\w+>/g) ?? [])) {
        expect(placeholders, `a README placeholder the test cannot fill: ${name}`).toHaveProperty([name]);
        filled[name] ??= await placeholders[name]!();
      }
      const argv = words.slice(1).map(fill);
      const ran = await runCommand([...promptops!, ...argv], cwd, env);
      results.set(command, ran);
      const output = `${ran.stdout}\n${ran.stderr}`;
      expect(ran.code, `exit code of ${command}:\n${output}`).toBe(exitCodeOf(step));
      if (ran.code === 0) expect(ran.stdout.trim(), `${command} printed nothing`).not.toBe('');
      expectPrinted(output, step.printed, fill);
      if (extraChecks[command] !== undefined) {
        await extraChecks[command](ran, cwd);
        checked.add(command);
      }
    });
  }

  it('ran every other line, and every check it has for a README claim', () => {
    expect(STEPS.filter((step) => step.line.startsWith('promptops ')).length).toBeGreaterThan(20);
    expect(skipped.sort()).toEqual(Object.keys(SKIPPED_BY_DESIGN).sort());
    expect([...checked].sort()).toEqual(Object.keys(extraChecks).sort());
  });
});
