import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseLockfile, parsePromptFile, promptSha } from '@promptops/core';
import { GREETER_FILE, hashTree, run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/** pull, status and lock against the real server (in-process, real HTTP, real SQLite). */

const SHA = /^[0-9a-f]{64}$/;

/** Hand-written files in varied YAML layouts: flow and block maps, quoting styles, comments, shorthands. */
const LAYOUTS: Record<string, string> = {
  'prompts/customer_support_greeter.prompt.yaml': GREETER_FILE,
  'prompts/summarize.prompt.yml': `# comments survive, because an unchanged file is never rewritten
template: >-
  Summarize in at most {{max_words}} words:
  {{ticket}}
variables:
  ticket: string        # shorthand
  max_words:
    default: 60
    type: integer
model:
  temperature: 0
  name: gpt-4o-mini
  provider: openai
`,
  'prompts/support/escalation.prompt.yaml': `{ "type": "chat", "variables": { "message": { "type": "string", "description": "the customer's message" } },
  "slots": { "teams": "\\"billing\\"|\\"technical\\"" },
  "messages": [ { "role": "system", "content": "Classify. Team: {{> teams}}" }, { "role": "user", "content": "{{message}}" } ] }
`,
  'prompts/support/renamed.prompt.yaml': `name: support/faq
type: text
template: 'Answer briefly: {{question}}'
variables: { question: { type: string, required: true } }
`,
  'prompts/windows.prompt.yaml':
    'template: |\r\n  Line one {{a}}\r\n  Line two\r\nvariables:\r\n  a: { type: string, default: x }\r\n',
};

interface PullJson {
  label: string | null;
  ref: string | null;
  dir: string;
  results: { name: string; status: string; version?: number; sha?: string; file: string | null; ref: string }[];
}

describe('push and pull', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-pull-');
    for (const [path, text] of Object.entries(LAYOUTS)) await writeAt(dir, path, text);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('push then pull leaves every hand-written file byte-identical', async () => {
    const before = await hashTree(dir);
    const pushed = await cli(['push', '-m', 'first', '--json']);
    expect(pushed.code).toBe(0);
    expect(pushed.json<{ results: { status: string }[] }>().results.map((r) => r.status)).toEqual(Array(5).fill('new'));
    // Nothing has a production label yet: nothing to pull, nothing touched.
    const none = await cli(['pull']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('no prompt has the label production');
    const pulled = await cli(['pull', '--label', 'latest', '--json']);
    expect(pulled.code).toBe(0);
    const body = pulled.json<PullJson>();
    expect(body.label).toBe('latest');
    expect(body.results.map((r) => [r.name, r.status, r.file])).toEqual([
      ['customer_support_greeter', 'unchanged', 'prompts/customer_support_greeter.prompt.yaml'],
      ['summarize', 'unchanged', 'prompts/summarize.prompt.yml'],
      ['support/escalation', 'unchanged', 'prompts/support/escalation.prompt.yaml'],
      ['support/faq', 'unchanged', 'prompts/support/renamed.prompt.yaml'],
      ['windows', 'unchanged', 'prompts/windows.prompt.yaml'],
    ]);
    expect(await hashTree(dir)).toEqual(before);
    const human = await cli(['pull', '--label', 'latest']);
    expect(human.stdout).toContain('5 prompts: 0 created, 0 updated, 5 unchanged\n');
    expect(await hashTree(dir)).toEqual(before);
  });

  it('pulls what a label serves, and only into files the registry can give back', async () => {
    const path = 'prompts/customer_support_greeter.prompt.yaml';
    const v1 = LAYOUTS[path]!;
    expect((await cli(['promote', 'customer_support_greeter', 'v1', '--label', 'production'])).code).toBe(0);
    const v2 = v1.replace('      Always greet the user by name.\n', '');
    await writeAt(dir, path, v2);
    expect((await cli(['push', path, '-m', 'wording fix'])).code).toBe(0);

    // The file is v2 (the registry has it): pulling production writes v1 back.
    const pulled = await cli(['pull', 'customer_support_greeter', '--json']);
    expect(pulled.code).toBe(0);
    expect(pulled.json<PullJson>().results).toEqual([
      {
        name: 'customer_support_greeter',
        status: 'updated',
        ref: 'production',
        version: 1,
        sha: expect.stringMatching(SHA),
        file: path,
      },
    ]);
    const text = await readFile(join(dir, path), 'utf8');
    expect(text).toContain('Always greet the user by name.');
    const v1Sha = promptSha(parsePromptFile(v1, { file: path, defaultName: 'customer_support_greeter' }));
    expect(promptSha(parsePromptFile(text, { file: path, defaultName: 'customer_support_greeter' }))).toBe(v1Sha);

    // NAME@REF and --ref pull a given version.
    const head = await cli(['pull', 'customer_support_greeter@v2']);
    expect(head.stdout).toMatch(
      /^customer_support_greeter: updated v2 [0-9a-f]{7} prompts\/customer_support_greeter\.prompt\.yaml\n/,
    );
    const byRef = await cli(['pull', 'customer_support_greeter', '--ref', v1Sha.slice(0, 7), '--json']);
    expect(byRef.json<PullJson>().results[0]).toMatchObject({ status: 'updated', version: 1, ref: v1Sha.slice(0, 7) });

    // Local edits the registry does not have are kept (exit 1) unless --force.
    await writeAt(dir, path, v1.replace('helpful', 'cheerful'));
    const before = await hashTree(dir);
    const kept = await cli(['pull', 'customer_support_greeter', '--label', 'latest']);
    expect(kept.code).toBe(1);
    expect(kept.stdout).toContain(
      `customer_support_greeter: skipped ${path} has changes that are not in the registry; kept it\n  fix: push the file first`,
    );
    expect(await hashTree(dir)).toEqual(before);
    const forced = await cli(['pull', 'customer_support_greeter', '--label', 'latest', '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(join(dir, path), 'utf8')).not.toContain('cheerful');

    // A prompt without the label is an error for that prompt only.
    const missing = await cli(['pull', 'summarize', 'customer_support_greeter', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.json<PullJson>().results.map((r) => [r.name, r.status])).toEqual([
      ['summarize', 'error'],
      ['customer_support_greeter', 'updated'],
    ]);
  });

  it('pulls into an empty folder: files that check accepts and push reports unchanged', async () => {
    const fresh = await tempDir('promptops-pull-fresh-');
    const inFresh = (argv: string[]) => run(argv, { env: registry.env, cwd: fresh });
    const pulled = await inFresh(['pull', '--label', 'latest', '--json']);
    expect(pulled.code).toBe(0);
    const results = pulled.json<PullJson>().results;
    expect(results.map((r) => [r.name, r.status, r.file])).toEqual([
      ['customer_support_greeter', 'created', 'prompts/customer_support_greeter.prompt.yaml'],
      ['summarize', 'created', 'prompts/summarize.prompt.yaml'],
      ['support/escalation', 'created', 'prompts/support/escalation.prompt.yaml'],
      ['support/faq', 'created', 'prompts/support/faq.prompt.yaml'],
      ['windows', 'created', 'prompts/windows.prompt.yaml'],
    ]);
    const check = await inFresh(['check']);
    expect(check.stdout).toBe('checked 5 prompt files: OK\n');
    expect(check.code).toBe(0);
    const pushed = await inFresh(['push', '--json']);
    expect(pushed.code).toBe(0);
    const pushedResults = pushed.json<{ results: { name: string; status: string; sha: string }[] }>().results;
    expect(pushedResults.map((r) => r.status)).toEqual(Array(5).fill('unchanged'));
    expect(pushedResults.map((r) => r.sha)).toEqual(results.map((r) => r.sha));
    const tree = await hashTree(fresh);
    expect((await inFresh(['pull', '--label', 'latest'])).stdout).toContain('5 unchanged');
    expect(await hashTree(fresh)).toEqual(tree);

    // --dir puts them elsewhere.
    const other = await inFresh(['pull', 'support/faq', '--label', 'latest', '--dir', 'vendored', '--json']);
    expect(other.json<PullJson>()).toMatchObject({
      dir: 'vendored',
      results: [{ status: 'created', file: 'vendored/support/faq.prompt.yaml' }],
    });
  });

  it('refuses --ref without names and --ref with --label (exit 2)', async () => {
    expect((await cli(['pull', '--ref', 'v1'])).code).toBe(2);
    const both = await cli(['pull', 'greeter', '--ref', 'v1', '--label', 'production']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
  });
});

interface StatusEntry {
  name: string;
  status: string;
  file: string | null;
  sha: string | null;
  version: number | null;
  head: { version: number; sha: string } | null;
  label: { version: number; sha: string } | null;
}

describe('status', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });
  const text = (word: string): string => `template: "${word} {{x}}"\nvariables: { x: string }\n`;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-status-');
    // at_head: v1. at_label: v1 (production), v2; the file is v1. older: v1, v2; the file is v1, no label.
    // edited: v1; the file has unpushed edits. remote_only: pushed from elsewhere. brand_new: never pushed.
    for (const name of ['at_head', 'at_label', 'older', 'edited', 'remote_only']) {
      await writeAt(dir, `prompts/${name}.prompt.yaml`, text('one'));
    }
    expect((await cli(['push'])).code).toBe(0);
    for (const name of ['at_label', 'older']) await writeAt(dir, `prompts/${name}.prompt.yaml`, text('two'));
    expect((await cli(['push'])).code).toBe(0);
    expect((await cli(['promote', 'at_label', 'v1', '--label', 'production'])).code).toBe(0);
    expect((await cli(['promote', 'at_head', 'v1', '--label', 'production'])).code).toBe(0);
    for (const name of ['at_label', 'older']) await writeAt(dir, `prompts/${name}.prompt.yaml`, text('one'));
    await writeAt(dir, 'prompts/edited.prompt.yaml', text('three'));
    await rm(join(dir, 'prompts/remote_only.prompt.yaml'));
    await writeAt(dir, 'prompts/brand_new.prompt.yaml', text('new'));
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('reports new, head, label, modified (with the version it matches) and remote-only', async () => {
    const result = await cli(['status', '--json']);
    expect(result.code).toBe(0);
    const body = result.json<{ label: string; prompts: StatusEntry[] }>();
    expect(body.label).toBe('production');
    const by = Object.fromEntries(body.prompts.map((p) => [p.name, p]));
    expect(body.prompts.map((p) => [p.name, p.status, p.version])).toEqual([
      ['at_head', 'head', 1],
      ['at_label', 'label', 1],
      ['brand_new', 'new', null],
      ['edited', 'modified', null],
      ['older', 'modified', 1],
      ['remote_only', 'remote-only', null],
    ]);
    expect(by.at_head).toMatchObject({
      file: 'prompts/at_head.prompt.yaml',
      head: { version: 1 },
      label: { version: 1 },
      sha: expect.stringMatching(SHA),
    });
    expect(by.at_label).toMatchObject({ head: { version: 2 }, label: { version: 1, sha: by.at_label!.sha } });
    expect(by.older).toMatchObject({ head: { version: 2 }, label: null });
    expect(by.brand_new).toMatchObject({ head: null, label: null });
    expect(by.remote_only).toMatchObject({ file: null, sha: null, head: { version: 1 }, label: null });

    const human = await cli(['status']);
    expect(human.stdout).toMatch(
      /at_label +label +production v1 [0-9a-f]{7}, head is v2 [0-9a-f]{7} +prompts\/at_label\.prompt\.yaml/,
    );
    expect(human.stdout).toMatch(/older +modified +is v1; head v2 [0-9a-f]{7}, production not set/);
    expect(human.stdout).toMatch(/edited +modified +unpushed changes; head v1/);
    expect(human.stdout).toMatch(/remote_only +remote-only +no local file; head v1/);
    expect(human.stdout).toContain('6 prompts: 2 modified, 1 new, 1 label, 1 head, 1 remote-only\n');
  });

  it('compares with another label, and checks only named files', async () => {
    const latest = await cli(['status', '--label', 'latest', '--json']);
    const states = latest.json<{ prompts: StatusEntry[] }>().prompts.map((p) => [p.name, p.status]);
    expect(states).toContainEqual(['at_label', 'modified']);
    const named = await cli(['status', 'prompts/older.prompt.yaml', '--json']);
    expect(named.json<{ prompts: StatusEntry[] }>().prompts.map((p) => p.name)).toEqual(['older']);
  });

  it('reports an invalid file and exits 1', async () => {
    await writeAt(dir, 'prompts/broken.prompt.yaml', 'template: "{{y}}"\n');
    try {
      const result = await cli(['status', '--json']);
      expect(result.code).toBe(1);
      expect(result.json<{ prompts: StatusEntry[] }>().prompts).toContainEqual(
        expect.objectContaining({ name: 'broken', status: 'invalid', file: 'prompts/broken.prompt.yaml' }),
      );
    } finally {
      await rm(join(dir, 'prompts/broken.prompt.yaml'));
    }
  });
});

interface LockJson {
  file: string;
  label: string;
  releaseSha: string;
  changed: boolean;
  embed: boolean;
  prompts: {
    name: string;
    version: number;
    sha: string;
    label: string;
    file: string | null;
    fileMatches: boolean | null;
  }[];
}

describe('lock', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });
  const GREETER = 'template: "Hello {{user_name}}, how can I help?"\nvariables: { user_name: string }\n';
  const FAQ = 'template: "Answer briefly: {{question}}"\nvariables: { question: string }\n';

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-lock-');
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(dir, 'prompts/support/faq.prompt.yaml', FAQ);
    expect((await cli(['push'])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.close();
  });
  beforeEach(async () => {
    await rm(join(dir, 'promptops.lock'), { force: true });
  });

  it('refuses to lock prompts the label does not serve, writing nothing', async () => {
    const result = await cli(['lock']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'cannot lock production: 2 of 2 prompts have no version to pin; nothing was written',
    );
    expect(result.stderr).toContain('  - greeter: label production is not set');
    expect(result.stderr).toMatch(/fix: push the new prompts and promote a version of each to production/);
    expect(Object.keys(await hashTree(dir))).not.toContain('promptops.lock');
  });

  it('pins what the label serves; byte-stable; parseLockfile accepts it; check passes', async () => {
    for (const name of ['greeter', 'support/faq']) {
      expect((await cli(['promote', name, 'v1', '--label', 'production'])).code).toBe(0);
    }
    const first = await cli(['lock', '--json']);
    expect(first.code).toBe(0);
    const body = first.json<LockJson>();
    expect(body).toMatchObject({ file: 'promptops.lock', label: 'production', changed: true, embed: false });
    expect(body.releaseSha).toMatch(SHA);
    expect(body.prompts).toEqual([
      {
        name: 'greeter',
        version: 1,
        sha: expect.stringMatching(SHA),
        label: 'production',
        file: 'prompts/greeter.prompt.yaml',
        fileMatches: true,
      },
      {
        name: 'support/faq',
        version: 1,
        sha: expect.stringMatching(SHA),
        label: 'production',
        file: 'prompts/support/faq.prompt.yaml',
        fileMatches: true,
      },
    ]);
    const text = await readFile(join(dir, 'promptops.lock'), 'utf8');
    const lock = parseLockfile(text);
    expect(lock.releaseSha).toBe(body.releaseSha);
    expect(lock.prompts.greeter).toEqual({ sha: body.prompts[0]!.sha, version: 1, label: 'production' });

    const tree = await hashTree(dir);
    const second = await cli(['lock']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `promptops.lock unchanged: 2 prompts pinned to production, release ${body.releaseSha}\n`,
    );
    expect(await hashTree(dir)).toEqual(tree);

    const check = await cli(['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`against promptops.lock (release ${body.releaseSha.slice(0, 7)}): OK`);
  });

  it('--embed writes contents that verify and equal the files', async () => {
    const result = await cli(['lock', '--embed', '--out', 'release/prompts.lock', '--json']);
    expect(result.code).toBe(0);
    const body = result.json<LockJson>();
    expect(body).toMatchObject({ file: 'release/prompts.lock', embed: true });
    const lock = parseLockfile(await readFile(join(dir, 'release/prompts.lock'), 'utf8'));
    for (const [name, entry] of Object.entries(lock.prompts)) {
      expect(entry.content).toBeDefined();
      expect(promptSha(entry.content!)).toBe(entry.sha);
      const path = `prompts/${name}.prompt.yaml`;
      const file = parsePromptFile(await readFile(join(dir, path), 'utf8'), { file: path, defaultName: name });
      expect(promptSha(file)).toBe(entry.sha);
    }
    // Embedding does not change the release sha.
    const plain = await cli(['lock', '--json']);
    expect(plain.json<LockJson>().releaseSha).toBe(body.releaseSha);
    expect((await cli(['check', '--lock', 'release/prompts.lock'])).code).toBe(0);
  });

  it('a moved label changes the release sha; a file edited after locking makes check fail', async () => {
    const before = (await cli(['lock', '--json'])).json<LockJson>().releaseSha;
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER.replace('how can I help', 'what do you need'));
    // Edited after locking: the lock is stale.
    const stale = await cli(['check', '--json']);
    expect(stale.code).toBe(1);
    expect(stale.json<{ problems: { file: string; code: string }[] }>().problems).toEqual([
      expect.objectContaining({ file: 'prompts/greeter.prompt.yaml', code: 'stale_lock' }),
    ]);
    // Re-locking before the label moves still pins v1, and says the file differs.
    const early = await cli(['lock']);
    expect(early.stderr).toContain('note: prompts/greeter.prompt.yaml is not production v1');
    expect(early.stdout).toMatch(/greeter +v1 +[0-9a-f]{7} +file differs/);

    expect((await cli(['push', '-m', 'v2'])).code).toBe(0);
    expect((await cli(['promote', 'greeter', 'v2', '--label', 'production'])).code).toBe(0);
    const after = await cli(['lock', '--json']);
    const body = after.json<LockJson>();
    expect(body.changed).toBe(true);
    expect(body.releaseSha).not.toBe(before);
    expect(body.prompts.find((p) => p.name === 'greeter')).toMatchObject({ version: 2, fileMatches: true });
    expect((await cli(['check'])).code).toBe(0);

    // Rolling back moves the label again: the release sha returns to the earlier one.
    expect((await cli(['rollback', 'greeter'])).code).toBe(0);
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER);
    expect((await cli(['lock', '--json'])).json<LockJson>().releaseSha).toBe(before);
  });

  it('without local files, locks every prompt the label is set for', async () => {
    const empty = await tempDir('promptops-lock-empty-');
    const result = await run(['lock', '--json'], { env: registry.env, cwd: empty });
    expect(result.code).toBe(0);
    const body = result.json<LockJson>();
    expect(body.prompts.map((p) => [p.name, p.file])).toEqual([
      ['greeter', null],
      ['support/faq', null],
    ]);
    const latest = await run(['lock', '--label', 'nothing-here'], { env: registry.env, cwd: empty });
    expect(latest.code).toBe(1);
    expect(latest.stderr).toContain('no prompt files here and no prompt has the label nothing-here');
  });
});

describe('promptops.yaml against a server', () => {
  let registry: Registry;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.close();
  });
  beforeEach(async () => {
    dir = await tempDir('promptops-project-');
    await writeAt(dir, 'llm/faq.prompt.yaml', 'template: "Answer: {{q}}"\nvariables: { q: string }\n');
  });

  it('supplies the url (below flag and env) and the prompt folders', async () => {
    await writeFile(join(dir, 'promptops.yaml'), `url: ${registry.url}\nproject: default\nprompts: [llm]\n`);
    const key = { PROMPTOPS_API_KEY: registry.env.PROMPTOPS_API_KEY! };
    const pushed = await run(['push', '--json'], { cwd: dir, env: key });
    expect(pushed.code).toBe(0);
    expect(pushed.json()).toMatchObject({ results: [{ name: 'faq', status: 'new', file: 'llm/faq.prompt.yaml' }] });
    // env beats the file: a dead URL in the environment is what is used.
    const dead = await run(['status'], { cwd: dir, env: { ...key, PROMPTOPS_URL: 'http://127.0.0.1:1' } });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain('cannot reach the promptops server at http://127.0.0.1:1');
    // and a flag beats env.
    const flag = await run(['status', '--url', registry.url, '--json'], {
      cwd: dir,
      env: { ...key, PROMPTOPS_URL: 'http://127.0.0.1:1' },
    });
    expect(flag.code).toBe(0);
  });

  it('refuses a key of another project than the one it names', async () => {
    await writeFile(join(dir, 'promptops.yaml'), 'project: acme\nprompts: [llm]\n');
    const result = await run(['push'], { cwd: dir, env: registry.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: promptops.yaml names project "acme", but the API key belongs to project "default"\n' +
        'fix: use a key of project "acme" (--api-key or PROMPTOPS_API_KEY), or correct project: in promptops.yaml\n',
    );
  });

  it('init, check, push, promote, lock, check: the README workflow', async () => {
    const repo = await tempDir('promptops-repo-');
    const cli = (argv: string[]) =>
      run(argv, { cwd: repo, env: { PROMPTOPS_API_KEY: registry.env.PROMPTOPS_API_KEY! } });
    expect((await cli(['init', '--url', registry.url])).code).toBe(0);
    expect((await cli(['check'])).code).toBe(0);
    expect((await cli(['push', '-m', 'scaffold'])).stdout).toContain('example_greeter: new v1');
    expect((await cli(['promote', 'example_greeter', 'v1', '--label', 'production'])).code).toBe(0);
    const lock = await cli(['lock', '--embed']);
    expect(lock.code).toBe(0);
    expect(lock.stdout).toMatch(/wrote promptops\.lock: 1 prompt pinned to production, release [0-9a-f]{64}\n/);
    expect((await cli(['status'])).stdout).toMatch(/example_greeter +head +head v1 [0-9a-f]{7}, production too/);
    expect((await cli(['check'])).stdout).toMatch(
      /checked 1 prompt file against promptops\.lock \(release [0-9a-f]{7}\): OK/,
    );
  });
});
