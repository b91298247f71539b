import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GREETER_FILE, run, tempDir, writeAt } from './helpers.js';

/**
 * What a new user reads first. `npx promptops` in a fresh clone (npm links a bin
 * only if its file exists at install time, before any build), the README's app snippet, "Prompts as code"
 * and the dataset note. (The README's tour itself is run by its own test.)
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const exec = promisify(execFile);
const section = (title: string): string => {
  const start = README.indexOf(`\n## ${title}\n`);
  expect(start, title).toBeGreaterThan(-1);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
};

describe('npx promptops in the clone', () => {
  const pkg = JSON.parse(readFileSync(join(CLI, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { bin?: Record<string, string> }>;
  };

  it('links a bin that exists before the build, as npm ci installs it', () => {
    const bin = pkg.bin['promptops'];
    expect(bin).toBeDefined();
    expect(bin!.startsWith('dist/')).toBe(false);
    expect(existsSync(join(CLI, bin!))).toBe(true);
    expect(lock.packages['packages/cli']?.bin).toEqual(pkg.bin);
  });

  it('runs the built CLI, and says how to build it when it is not built', async () => {
    const launcher = join(CLI, pkg.bin['promptops']!);
    const version = (JSON.parse(readFileSync(join(CLI, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await exec(process.execPath, [launcher, '--version'])).stdout).toBe(`${version}\n`);
    expect((await exec(process.execPath, [launcher, '--help'])).stdout).toContain('Usage: promptops');

    const fresh = join(mkdtempSync(join(tmpdir(), 'promptops-unbuilt-')), 'packages/cli');
    mkdirSync(join(fresh, dirname(pkg.bin['promptops']!)), { recursive: true });
    copyFileSync(launcher, join(fresh, pkg.bin['promptops']!));
    const failure = await exec(process.execPath, [join(fresh, pkg.bin['promptops']!), 'log', 'x']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('fix: run `npm run build`') });
  });

  it('the README says so, and gives an alias that works from another folder', () => {
    const tour = section('A five-minute tour');
    expect(tour).toContain('`npx promptops`');
    expect(tour).toMatch(/alias promptops="node \$PWD\/packages\/cli\/dist\/bin\.js"/);
  });
});

describe('the README for a new user', () => {
  it('shows an app snippet that closes its client and says how to run it', () => {
    const app = section('In your application');
    const snippet = app.slice(app.indexOf('```ts'), app.indexOf('```', app.indexOf('```ts') + 5));
    expect(snippet).toMatch(/\nawait prompts\.close\(\);/);
    expect(app).toContain('npx tsx app.mts');
    expect(app).toContain('close()');
  });

  it('"Prompts as code" names PROMPTOPS_API_KEY and points no command at a placeholder host', () => {
    const code = section('Prompts as code');
    const block = code.slice(code.indexOf('```sh'), code.indexOf('```', code.indexOf('```sh') + 5));
    expect(block).toContain('PROMPTOPS_API_KEY');
    expect(block.indexOf('PROMPTOPS_API_KEY')).toBeLessThan(block.indexOf('promptops push'));
    expect(block).not.toMatch(/init --url https?:\/\//);
    expect(block).toMatch(/\npromptops init +#/);
  });

  it('says what JSONL and CSV datasets take, __id only in CSV, paths relative to the suite file', () => {
    const evals = section('Eval suites');
    expect(evals).toMatch(/relative to the suite file/);
    expect(evals).toMatch(/- JSONL: .*`vars`/);
    expect(evals).toMatch(/- CSV: .*\n.*`__id`/);
    expect(evals).toContain('`__id` and the other `__` columns are CSV only');
  });
});

describe('the dataset note holds', () => {
  it('JSONL cases with vars or variables only, CSV with __id, read relative to the suite file', async () => {
    const cwd = await tempDir('promptops-datasets-');
    await writeAt(cwd, 'prompts/customer_support_greeter.prompt.yaml', GREETER_FILE);
    await writeAt(
      cwd,
      'evals/support/greeter.eval.yaml',
      [
        'prompt: customer_support_greeter',
        'provider: simulated',
        'defaultTest:',
        '  assert: [{ type: mentions-var, value: user_name }]',
        'dataset: [data/more-cases.jsonl, data/more-cases.csv]',
        '',
      ].join('\n'),
    );
    await writeAt(
      cwd,
      'evals/support/data/more-cases.jsonl',
      [
        '{"id": "bob-refund", "vars": {"user_name": "Bob", "question": "Refund?"}}',
        '{"user_name": "Ada", "question": "Where is my order?"}',
        '',
      ].join('\n'),
    );
    await writeAt(cwd, 'evals/support/data/more-cases.csv', '__id,user_name,question\ncarol,Carol,Hello?\n');
    const result = await run(['eval', '--json'], { cwd });
    expect(result.code, result.stdout).toBe(0);
    const ids = result.json<{ suites: { run: { cases: { id: string }[] } }[] }>().suites[0]?.run.cases.map((c) => c.id);
    expect(ids).toEqual(['bob-refund', 'data/more-cases.jsonl#2', 'carol']);

    // `__id` in a JSONL line is a variable, not the case id.
    await writeAt(cwd, 'evals/support/data/more-cases.jsonl', '{"__id": "x", "user_name": "Bob", "question": "?"}\n');
    const refused = await run(['eval', '--json'], { cwd });
    expect(JSON.stringify(refused.json())).toContain('__id');
    expect(refused.code).not.toBe(0);
  });
});
