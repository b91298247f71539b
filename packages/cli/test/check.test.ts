import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLockfile, formatLockfile, parsePromptFile, promptSha } from '@promptops/core';
import { GREETER_FILE, fakeFetch, hashTree, run, tempDir, writeAt, type RunOptions } from './helpers.js';

/** `promptops init` and `promptops check`: offline, no server (every request would fail loudly). */

const offline = fakeFetch(500, { error: { code: 'internal', message: 'check must not call the server' } });

const GREETER = `type: chat
model: { provider: openai, name: gpt-4o-mini, temperature: 0.2 }
variables:
  user_name: { type: string }
messages:
  - role: system
    content: Always greet {{user_name}} by name.
`;
const FAQ = 'template: "Answer briefly: {{question}}"\nvariables: { question: string }\n';

interface Problem {
  file: string;
  name: string | null;
  path: string | null;
  code: string;
  message: string;
  fix: string;
}
interface CheckJson {
  ok: boolean;
  files: { file: string; name: string; sha: string | null; ok: boolean }[];
  lock: { file: string; releaseSha: string; prompts: number } | null;
  problems: Problem[];
}

/** A lock for the given files as `promptops lock` would write it (pinned by the files' own shas). */
const lockFor = async (dir: string, files: Record<string, string>): Promise<string> => {
  const entries = Object.fromEntries(
    await Promise.all(
      Object.entries(files).map(async ([name, path]) => {
        const content = parsePromptFile(await readFile(join(dir, path), 'utf8'), { file: path, defaultName: name });
        return [name, { sha: promptSha(content), version: 1, label: 'production', content }] as const;
      }),
    ),
  );
  return formatLockfile(createLockfile(entries));
};

describe('promptops init', () => {
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) =>
    run(argv, { cwd: dir, env: {}, fetch: offline, ...options });
  beforeEach(async () => {
    dir = await tempDir('promptops-init-');
  });

  it('creates promptops.yaml, an example prompt and a workflow, and says so', async () => {
    const result = await cli(['init']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('created promptops.yaml\n');
    expect(result.stdout).toContain('created prompts/example_greeter.prompt.yaml\n');
    expect(result.stdout).toContain('created .github/workflows/promptops.yml\n');
    expect(Object.keys(await hashTree(dir)).sort()).toEqual([
      '.github/workflows/promptops.yml',
      '.gitignore',
      'promptops.yaml',
      'prompts/example_greeter.prompt.yaml',
    ]);
    const config = parse(await readFile(join(dir, 'promptops.yaml'), 'utf8')) as Record<string, unknown>;
    expect(config).toEqual({
      url: 'http://127.0.0.1:4680',
      project: 'default',
      prompts: ['prompts'],
      lock: 'promptops.lock',
    });
  });

  it('takes --url and --project, and reports JSON', async () => {
    const result = await cli(['init', '--url', 'https://prompts.example.com/', '--project', 'acme', '--json']);
    expect(result.code).toBe(0);
    expect(result.json()).toEqual({
      url: 'https://prompts.example.com',
      project: 'acme',
      files: [
        { file: 'promptops.yaml', status: 'created' },
        { file: 'prompts/example_greeter.prompt.yaml', status: 'created' },
        { file: '.github/workflows/promptops.yml', status: 'created' },
        { file: '.gitignore', status: 'created' },
      ],
    });
    const config = parse(await readFile(join(dir, 'promptops.yaml'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ url: 'https://prompts.example.com', project: 'acme' });
  });

  it('refuses to overwrite any existing file (exit 1, naming it, writing nothing) unless --force', async () => {
    await writeAt(dir, 'prompts/example_greeter.prompt.yaml', 'template: mine\n');
    const before = await hashTree(dir);
    const refused = await cli(['init']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: prompts\/example_greeter\.prompt\.yaml already exists; nothing was written\n/,
    );
    expect(refused.stderr).toContain('fix: run `promptops init --force`');
    expect(await hashTree(dir)).toEqual(before);

    const forced = await cli(['init', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('overwritten prompts/example_greeter.prompt.yaml');
    expect(forced.stdout).toContain('created promptops.yaml');
    const again = await cli(['init', '--json']);
    expect(again.code).toBe(1);
    expect(again.json()).toMatchObject({
      error: { code: 'file_exists', details: { files: expect.arrayContaining(['promptops.yaml']) } },
    });
  });

  it('scaffolds a prompt that check accepts', async () => {
    await cli(['init']);
    const result = await cli(['check']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('checked 1 prompt file: OK\n');
    expect(result.code).toBe(0);
  });

  it('writes a workflow that parses: check on pull requests, push on main with secrets', async () => {
    await cli(['init']);
    const workflow = parse(await readFile(join(dir, '.github/workflows/promptops.yml'), 'utf8')) as {
      on: { pull_request: unknown; push: { branches: string[] } };
      jobs: Record<string, { if: string; steps: { run?: string; uses?: string; env?: Record<string, string> }[] }>;
    };
    expect(workflow.on).toHaveProperty('pull_request');
    expect(workflow.on.push.branches).toEqual(['main']);
    const check = workflow.jobs.check!;
    expect(check.if).toContain('pull_request');
    // The CLI is installed first: the published package pinned to this version, or committed tarballs.
    expect((workflow as unknown as { env: Record<string, string> }).env.PROMPTOPS_CLI).toMatch(
      /^@promptops\/cli@\d+\.\d+\.\d+$/,
    );
    const install = check.steps.findIndex((s) =>
      s.run?.includes('npm install --no-save --no-audit --no-fund "$PROMPTOPS_CLI"'),
    );
    expect(install).toBeGreaterThan(-1);
    expect(check.steps[install]?.run).toContain('vendor/promptops/*.tgz');
    expect(check.steps.findIndex((s) => s.run?.startsWith('npx --no-install promptops check'))).toBeGreaterThan(
      install,
    );
    const push = workflow.jobs.push!;
    expect(push.if).toContain("'push'");
    expect(push.steps.some((s) => s.run?.includes('"$PROMPTOPS_CLI"'))).toBe(true);
    const step = push.steps.find((s) => s.run?.startsWith('npx --no-install promptops push'));
    expect(step?.run).toBe('npx --no-install promptops push prompts -m "$GITHUB_SHA"');
    expect(step?.env).toEqual({
      PROMPTOPS_URL: '${{ secrets.PROMPTOPS_URL }}',
      PROMPTOPS_API_KEY: '${{ secrets.PROMPTOPS_API_KEY }}',
    });
  });
});

describe('promptops check', () => {
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) =>
    run(argv, { cwd: dir, env: {}, fetch: offline, ...options });
  beforeEach(async () => {
    dir = await tempDir('promptops-check-');
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(dir, 'prompts/support/faq.prompt.yaml', FAQ);
  });

  it('passes a clean tree, with and without a lock', async () => {
    const clean = await cli(['check']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe('checked 2 prompt files: OK\n');
    await writeFile(
      join(dir, 'promptops.lock'),
      await lockFor(dir, { greeter: 'prompts/greeter.prompt.yaml', 'support/faq': 'prompts/support/faq.prompt.yaml' }),
    );
    const locked = await cli(['check', '--json']);
    expect(locked.code).toBe(0);
    const body = locked.json<CheckJson>();
    expect(body).toMatchObject({ ok: true, problems: [], lock: { file: 'promptops.lock', prompts: 2 } });
    expect(body.files).toEqual([
      { file: 'prompts/greeter.prompt.yaml', name: 'greeter', sha: expect.stringMatching(/^[0-9a-f]{64}$/), ok: true },
      { file: 'prompts/support/faq.prompt.yaml', name: 'support/faq', sha: expect.any(String), ok: true },
    ]);
    expect((await cli(['check'])).stdout).toMatch(
      /^checked 2 prompt files against promptops\.lock \(release [0-9a-f]{7}\): OK\n$/,
    );
  });

  it.each([
    ['bad YAML', 'template: "unclosed\nvariables: [\n', 'invalid_yaml', null, /YAML: /],
    [
      'an undeclared variable',
      'template: "Hi {{who}}"\n',
      'invalid_prompt_file',
      'template',
      /\{\{who\}\} is used in template but not declared/,
    ],
    [
      'an unused variable',
      'template: "Hi {{who}}"\nvariables: { who: string, tone: string }\n',
      'unused_variable',
      'variables.tone',
      /"tone" is declared but no template uses \{\{tone\}\}/,
    ],
    ['an unknown field', 'template: hi\ncolour: red\n', 'invalid_prompt_file', 'colour', /unknown field "colour"/],
    [
      'a template that does not parse',
      'template: "{{#open}} never closed"\nvariables: { open: any }\n',
      'invalid_prompt_file',
      'template',
      /does not parse/,
    ],
  ])('fails on %s: exit 1, names the file and the field, with a fix', async (_what, text, code, path, message) => {
    await writeAt(dir, 'prompts/broken.prompt.yaml', text);
    const human = await cli(['check']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('prompts/broken.prompt.yaml\n');
    if (path !== null) expect(human.stdout).toContain(`  ${path}: `);
    expect(human.stdout).toMatch(message);
    expect(human.stdout).toMatch(/\n {4}fix: .+\n/);
    expect(human.stdout).toMatch(/checked 3 prompt files: \d+ problems? in 1 file\n$/);

    const json = await cli(['check', '--json']);
    expect(json.code).toBe(1);
    const body = json.json<CheckJson>();
    expect(body.ok).toBe(false);
    expect(body.problems.length).toBeGreaterThan(0);
    const problem = body.problems[0]!;
    expect(Object.keys(problem).sort()).toEqual(['code', 'file', 'fix', 'message', 'name', 'path']);
    expect(problem).toMatchObject({ file: 'prompts/broken.prompt.yaml', name: 'broken', code, path });
    expect(problem.message).toMatch(message);
    expect(problem.fix.length).toBeGreaterThan(0);
    expect(body.files.find((f) => f.file === 'prompts/broken.prompt.yaml')?.ok).toBe(false);
    expect(body.files.filter((f) => f.ok)).toHaveLength(2);
  });

  it('reports two files defining one prompt', async () => {
    await writeAt(dir, 'prompts/other.prompt.yaml', `name: greeter\n${FAQ}`);
    const result = await cli(['check', '--json']);
    expect(result.code).toBe(1);
    expect(result.json<CheckJson>().problems).toEqual([
      expect.objectContaining({
        file: 'prompts/other.prompt.yaml',
        name: 'greeter',
        path: 'name',
        code: 'duplicate_prompt',
        message: expect.stringContaining('also defined by prompts/greeter.prompt.yaml'),
      }),
    ]);
  });

  it('fails on a stale lock: an edited file, a file missing from the lock, a lock entry without a file', async () => {
    await writeFile(
      join(dir, 'promptops.lock'),
      await lockFor(dir, { greeter: 'prompts/greeter.prompt.yaml', 'support/faq': 'prompts/support/faq.prompt.yaml' }),
    );
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER.replace('Always greet', 'Greet'));
    const edited = await cli(['check']);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain("prompts/greeter.prompt.yaml\n  stale lock: the file's content");
    expect(edited.stdout).toContain('changed since locking; promptops.lock pins what production served, v1');
    expect(edited.stdout).toMatch(/fix: once this version is pushed and production serves it, run `promptops lock`/);

    await rm(join(dir, 'prompts/support/faq.prompt.yaml'));
    await writeAt(dir, 'prompts/added.prompt.yaml', FAQ);
    const json = await cli(['check', '--json']);
    expect(json.code).toBe(1);
    const problems = json.json<CheckJson>().problems;
    expect(problems.map((p) => [p.file, p.name, p.code, p.path])).toEqual([
      ['prompts/added.prompt.yaml', 'added', 'stale_lock', null],
      ['prompts/greeter.prompt.yaml', 'greeter', 'stale_lock', null],
      ['promptops.lock', 'support/faq', 'stale_lock', 'prompts.support/faq'],
    ]);
    expect(problems[0]!.message).toContain('promptops.lock has no entry for "added"');
    expect(problems[2]!.message).toContain('no prompt file defines it');
    expect(problems.every((p) => p.fix.includes('promptops lock'))).toBe(true);

    // Checking named files only: a lock entry without a file is not a problem then.
    const some = await cli(['check', 'prompts/added.prompt.yaml', '--json']);
    expect(some.json<CheckJson>().problems.map((p) => p.name)).toEqual(['added']);
  });

  it('fails on a tampered lock: a changed sha, or embedded content that does not hash to its sha', async () => {
    const text = await lockFor(dir, {
      greeter: 'prompts/greeter.prompt.yaml',
      'support/faq': 'prompts/support/faq.prompt.yaml',
    });
    const lock = JSON.parse(text) as { prompts: Record<string, { sha: string; content: { template?: string } }> };
    const faq = lock.prompts['support/faq']!;
    faq.content.template = 'Answer at length: {{question}}';
    await writeFile(join(dir, 'promptops.lock'), `${JSON.stringify(lock, null, 2)}\n`);
    const content = await cli(['check', '--json']);
    expect(content.code).toBe(1);
    expect(content.json<CheckJson>().problems).toEqual([
      expect.objectContaining({
        file: 'promptops.lock',
        code: 'lockfile_tampered',
        message: expect.stringContaining("'support/faq'"),
      }),
    ]);

    const shaEdited = text.replace(/"sha": "([0-9a-f])/, (_m, first: string) => `"sha": "${first === 'a' ? 'b' : 'a'}`);
    await writeFile(join(dir, 'promptops.lock'), shaEdited);
    const sha = await cli(['check']);
    expect(sha.code).toBe(1);
    expect(sha.stdout).toContain('promptops.lock\n');
    expect(sha.stdout).toMatch(/does not hash to its sha|releaseSha does not match/);

    await writeFile(join(dir, 'promptops.lock'), '{ "lockfileVersion": 1, ');
    const broken = await cli(['check', '--json']);
    expect(broken.json<CheckJson>().problems).toEqual([
      expect.objectContaining({ file: 'promptops.lock', code: 'invalid_lockfile' }),
    ]);
  });

  it('names a missing --lock file, and reads the lock path from promptops.yaml', async () => {
    const missing = await cli(['check', '--lock', 'release.lock', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.json<CheckJson>().problems).toEqual([
      expect.objectContaining({ file: 'release.lock', code: 'lockfile_not_found' }),
    ]);
    await writeFile(join(dir, 'promptops.yaml'), 'prompts: [prompts]\nlock: locks/release.lock\n');
    await writeAt(dir, 'locks/release.lock', '{}');
    const fromConfig = await cli(['check', '--json']);
    expect(fromConfig.json<CheckJson>().problems).toEqual([
      expect.objectContaining({ file: 'locks/release.lock', code: 'invalid_lockfile' }),
    ]);
  });

  it('writes JUnit XML: one testcase per prompt file (and the lock), one failure per failing file', async () => {
    await writeAt(dir, 'prompts/broken.prompt.yaml', 'template: "Hi {{who}} & <you>"\nvariables: { tone: string }\n');
    await writeFile(join(dir, 'promptops.lock'), await lockFor(dir, { greeter: 'prompts/greeter.prompt.yaml' }));
    const result = await cli(['check', '--junit', 'reports/check.xml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('wrote JUnit XML to reports/check.xml\n');
    const xml = await readFile(join(dir, 'reports/check.xml'), 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    const testcases = xml.match(/<testcase /g) ?? [];
    const failures = xml.match(/<failure /g) ?? [];
    // broken, greeter, support/faq, and the lock.
    expect(testcases).toHaveLength(4);
    // broken (undeclared who), support/faq (not in the lock); greeter matches the lock, which is intact.
    expect(failures).toHaveLength(2);
    expect(xml).toContain('<testsuite name="promptops check" tests="4" failures="2" errors="0" skipped="0">');
    expect(xml).toMatch(/<testcase classname="promptops check" name="greeter" file="prompts\/greeter.prompt.yaml"\/>/);
    expect(xml).toContain('name="broken" file="prompts/broken.prompt.yaml">');
    expect(xml).toContain(
      '<failure message="template: variable {{who}} is used in template but not declared in variables; add &quot;who: { type: string }&quot; under variables" type="invalid_prompt_file">',
    );
    expect(xml).toContain('stale lock: promptops.lock has no entry for &quot;support/faq&quot;');
    // Well-formed enough: tags balance, and no raw markup characters inside attribute values.
    expect(xml.match(/<testcase [^>]*[^/]>/g)?.length).toBe((xml.match(/<\/testcase>/g) ?? []).length);
    expect(xml.match(/<failure /g)?.length).toBe((xml.match(/<\/failure>/g) ?? []).length);
    for (const [, value] of xml.matchAll(/="([^"]*)"/g)) expect(value).not.toMatch(/[<>&](?!amp;|lt;|gt;|quot;|apos;)/);

    await rm(join(dir, 'prompts/broken.prompt.yaml'));
    await rm(join(dir, 'promptops.lock'));
    const clean = await cli(['check', '--junit', 'reports/check.xml', '--json']);
    expect(clean.code).toBe(0);
    expect(clean.json<CheckJson>().ok).toBe(true);
    const passing = await readFile(join(dir, 'reports/check.xml'), 'utf8');
    expect(passing.match(/<testcase /g)).toHaveLength(2);
    expect(passing).not.toContain('<failure');
  });

  it('runs the eval suites of changed prompts: v17 passes, v18 (greet line removed) fails naming the cases', async () => {
    const suite = await readFile(
      fileURLToPath(new URL('../../../examples/evals/greeter-basics.eval.yaml', import.meta.url)),
      'utf8',
    );
    const evalsDir = await tempDir('promptops-check-evals-');
    await writeAt(evalsDir, 'prompts/customer_support_greeter.prompt.yaml', GREETER_FILE);
    await writeAt(evalsDir, 'evals/greeter-basics.eval.yaml', suite);
    const inDir = (argv: string[]) => run(argv, { cwd: evalsDir, env: {}, fetch: offline });

    const v17 = await inDir(['check', '--json', '--no-cache']);
    expect(v17.code, v17.stderr).toBe(0);
    const passed = JSON.parse(v17.stdout) as CheckJson & { evals: { suite: string; passed: boolean }[] };
    expect(passed.evals).toEqual([expect.objectContaining({ suite: 'greeter-basics', passed: true })]);

    const v18 = GREETER_FILE.replace('      Always greet the user by name.\n', '');
    expect(v18).not.toBe(GREETER_FILE);
    await writeAt(evalsDir, 'prompts/customer_support_greeter.prompt.yaml', v18);
    const failed = await inDir(['check', '--no-cache']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('FAIL eval greeter-basics on customer_support_greeter');
    expect(failed.stdout).toContain('failing: alice-password, bob-refund, chen-shipping, dana-invoice, emeka-account');
    // --no-evals skips them; a lock pinning the file's content means the prompt did not change.
    expect((await inDir(['check', '--no-evals'])).code).toBe(0);
    await writeFile(
      join(evalsDir, 'promptops.lock'),
      await lockFor(evalsDir, { customer_support_greeter: 'prompts/customer_support_greeter.prompt.yaml' }),
    );
    const unchanged = await inDir(['check', '--json']);
    expect(unchanged.code, unchanged.stdout).toBe(0);
    expect((JSON.parse(unchanged.stdout) as { evals: unknown[] }).evals).toEqual([]);
  });

  it('accepts the repository examples', async () => {
    const examples = fileURLToPath(new URL('../../../examples/prompts', import.meta.url));
    const result = await run(['check', examples], { cwd: dir, env: {}, fetch: offline });
    expect(result.stdout).toMatch(/checked 3 prompt files: OK/);
    expect(result.code).toBe(0);
  });
});

describe('promptops.yaml', () => {
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) =>
    run(argv, { cwd: dir, env: {}, fetch: offline, ...options });
  beforeEach(async () => {
    dir = await tempDir('promptops-config-');
  });

  it('its prompts folders are the default paths', async () => {
    await writeFile(join(dir, 'promptops.yaml'), 'prompts: [llm/prompts, more]\n');
    await writeAt(dir, 'llm/prompts/support/faq.prompt.yaml', FAQ);
    await writeAt(dir, 'more/greeter.prompt.yaml', GREETER);
    const result = await cli(['check', '--json']);
    expect(result.code).toBe(0);
    expect(result.json<CheckJson>().files.map((f) => [f.file, f.name])).toEqual([
      ['more/greeter.prompt.yaml', 'greeter'],
      ['llm/prompts/support/faq.prompt.yaml', 'support/faq'],
    ]);
    // A file named directly is named relative to its configured folder.
    const named = await cli(['check', 'llm/prompts/support/faq.prompt.yaml', '--json']);
    expect(named.json<CheckJson>().files.map((f) => f.name)).toEqual(['support/faq']);
  });

  it('--config PATH reads another file, relative paths relative to it', async () => {
    await writeAt(dir, 'config/team.yaml', 'prompts: [../shared]\n');
    await writeAt(dir, 'shared/faq.prompt.yaml', FAQ);
    const result = await cli(['check', '--config', 'config/team.yaml', '--json']);
    expect(result.code).toBe(0);
    expect(result.json<CheckJson>().files.map((f) => f.file)).toEqual(['shared/faq.prompt.yaml']);
    const missing = await cli(['check', '--config', 'nope.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: nope.yaml: no such file (named by --config)\nfix: check the --config path, or run `promptops init` to create promptops.yaml\n',
    );
  });

  it.each([
    [
      'an unknown field',
      'prompt: [prompts]\n',
      'prompt',
      /unknown field "prompt"; allowed fields: url, project, prompts, lock/,
    ],
    ['prompts not a list', 'prompts: { a: 1 }\n', 'prompts', /prompts must be a list of folders/],
    ['a bad url', 'url: ftp://example.com\n', 'url', /"ftp:\/\/example.com" is not an http\(s\) URL/],
    ['an empty project', 'project: ""\n', 'project', /project must be a project name/],
    ['bad YAML', 'prompts: [unclosed\n', '(yaml)', /./],
    ['not a mapping', '- prompts\n', '(root)', /a YAML mapping/],
  ])('is validated: %s is refused naming the file, the field and a fix', async (_what, text, field, message) => {
    await writeFile(join(dir, 'promptops.yaml'), text);
    const result = await cli(['check']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: promptops.yaml: invalid config:\n/);
    expect(result.stderr).toContain(`  - ${field}: `);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/\nfix: .+\n$/);
    const json = await cli(['check', '--json']);
    expect(json.json()).toMatchObject({
      error: {
        code: 'invalid_config',
        issues: [expect.objectContaining({ path: field })],
        details: { file: 'promptops.yaml' },
      },
    });
  });
});
