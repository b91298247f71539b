import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import { testDatabase } from '../../server/test/support/databases.js';
import { GREETER_FILE, run, tempDir, type RunOptions } from './helpers.js';

/** The CLI against the real server (in-process, real HTTP, real SQLite). */

const ADMIN_KEY = 'po_e2e_admin_key_0123456789abcdef0123456789abcdef';
const SHA = /^[0-9a-f]{64}$/;

const GREETER = GREETER_FILE;
const FAQ = 'template: "Answer briefly: {{question}}"\nvariables: { question: string }\n';

interface VersionJson {
  name: string;
  version: number;
  sha: string;
  parentSha: string | null;
  author: string;
  message: string;
  createdAt: string;
  labels: string[];
}

describe('promptops CLI against a real server', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let dir: string;
  let env: Record<string, string>;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env, cwd: dir, ...options });
  const write = async (path: string, text: string): Promise<void> => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  };

  beforeAll(async () => {
    dir = await tempDir('promptops-cli-e2e-');
    const previous = process.env.PROMPTOPS_INIT_ADMIN_KEY;
    process.env.PROMPTOPS_INIT_ADMIN_KEY = ADMIN_KEY;
    try {
      server = await startServer({
        host: '127.0.0.1',
        port: 0,
        db: await testDatabase('sqlite'),
        dataDir: join(dir, 'server-data'),
        print: () => {},
      });
    } finally {
      if (previous === undefined) delete process.env.PROMPTOPS_INIT_ADMIN_KEY;
      else process.env.PROMPTOPS_INIT_ADMIN_KEY = previous;
    }
    env = { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY };
    await write('prompts/customer_support_greeter.prompt.yaml', GREETER);
    await write('prompts/support/faq.prompt.yaml', FAQ);
  });

  afterAll(async () => {
    await server?.close();
  });

  const versions: Record<number, string> = {};

  it('pushes a prompts folder: new, then unchanged, then a new version after an edit', async () => {
    const first = await cli(['push', '-m', 'first support prompt', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const { results } = first.json<{
      results: { name: string; status: string; version: number; sha: string; file: string }[];
    }>();
    expect(results).toEqual([
      {
        name: 'customer_support_greeter',
        status: 'new',
        version: 1,
        sha: expect.stringMatching(SHA),
        file: 'prompts/customer_support_greeter.prompt.yaml',
      },
      {
        name: 'support/faq',
        status: 'new',
        version: 1,
        sha: expect.stringMatching(SHA),
        file: 'prompts/support/faq.prompt.yaml',
      },
    ]);
    versions[1] = results[0]!.sha;

    const again = await cli(['push']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`customer_support_greeter: unchanged v1 ${versions[1].slice(0, 7)}`);
    expect(again.stdout).toContain('0 new, 2 unchanged');
    // On a terminal, progress goes to stderr (and is cleared), never into stdout.
    const onTty = await cli(['push'], { tty: true });
    expect(onTty.stderr).toContain('pushing 2/2');
    expect(onTty.stdout).not.toContain('pushing');

    const edited = GREETER.replace('      Always greet the user by name.\n', '').replace(
      'temperature: 0.2',
      'temperature: 0.5',
    );
    await write('prompts/customer_support_greeter.prompt.yaml', edited);
    const second = await cli(['push', '-m', 'wording fix']);
    expect(second.code).toBe(0);
    const line = /customer_support_greeter: new v2 ([0-9a-f]{7})/.exec(second.stdout);
    expect(line).not.toBeNull();
    expect(second.stdout).toContain('support/faq: unchanged v1');
    const log = await cli(['log', 'customer_support_greeter', '--json']);
    versions[2] = log.json<{ versions: VersionJson[] }>().versions[0]!.sha;
    expect(versions[2].startsWith(line![1]!)).toBe(true);
  });

  it('logs versions newest first with public field names', async () => {
    const result = await cli(['log', 'customer_support_greeter', '--json']);
    expect(result.code).toBe(0);
    const body = result.json<{ name: string; versions: VersionJson[] }>();
    expect(body.name).toBe('customer_support_greeter');
    expect(body.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(body.versions[0]).toEqual({
      name: 'customer_support_greeter',
      version: 2,
      sha: versions[2],
      parentSha: versions[1],
      author: expect.any(String),
      message: 'wording fix',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      labels: ['latest'],
    });
    const human = await cli(['log', 'customer_support_greeter', '--limit', '1']);
    expect(human.stdout).toMatch(/^v2 {2}[0-9a-f]{7} {2}.*wording fix {2}\(latest\)\n$/);
  });

  it('shows a version by vN, sha prefix and label', async () => {
    const byVersion = await cli(['show', 'customer_support_greeter@v1', '--json']);
    expect(byVersion.code).toBe(0);
    const v1 = byVersion.json<VersionJson & { content: { messages: { content: string }[] } }>();
    expect(v1).toMatchObject({ name: 'customer_support_greeter', version: 1, sha: versions[1], labels: [] });
    expect(v1.content.messages[0]?.content).toContain('Always greet the user by name.');

    const bySha = await cli(['show', 'customer_support_greeter', versions[1]!.slice(0, 7), '--json']);
    expect(bySha.json<VersionJson>().version).toBe(1);

    const byLabel = await cli(['show', 'customer_support_greeter@latest']);
    expect(byLabel.code).toBe(0);
    expect(byLabel.stdout).toContain(`customer_support_greeter v2 ${versions[2]}`);
    expect(byLabel.stdout).toContain('temperature: 0.5');
    expect(byLabel.stdout).not.toContain('Always greet the user by name.');
  });

  it('diffs v1 and v2: the removed line and the changed field', async () => {
    const result = await cli(['diff', 'customer_support_greeter', 'v1', 'v2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('-Always greet the user by name.');
    expect(result.stdout).toContain('config.params.temperature: 0.2 -> 0.5');
    expect(result.stdout).not.toContain('\u001b[');

    const tty = await cli(['diff', 'customer_support_greeter', 'v1', 'v2'], { tty: true });
    expect(tty.stdout).toContain('\u001b[31m-Always greet the user by name.');

    const json = await cli(['diff', 'customer_support_greeter', 'v1', 'v2', '--json']);
    expect(json.json()).toMatchObject({
      from: { version: 1, sha: versions[1] },
      to: { version: 2, sha: versions[2] },
      diff: { identical: false, fields: [{ path: 'config.params.temperature', from: 0.2, to: 0.5 }] },
    });

    const same = await cli(['diff', 'customer_support_greeter', 'v2', 'latest']);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('identical');
  });

  it('promotes to production, rolls back, and records both moves', async () => {
    const first = await cli([
      'promote',
      'customer_support_greeter',
      'v1',
      '--label',
      'production',
      '--reason',
      'first release',
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`production: (none) -> v1 (${versions[1]!.slice(0, 7)})\n`);

    const second = await cli(['promote', 'customer_support_greeter@v2', '-l', 'production', '--json']);
    expect(second.code).toBe(0);
    expect(second.json()).toMatchObject({
      name: 'customer_support_greeter',
      label: 'production',
      changed: true,
      from: { version: 1, sha: versions[1] },
      to: { version: 2, sha: versions[2] },
    });

    const rollback = await cli(['rollback', 'customer_support_greeter', '--reason', 'customers complain']);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(
      new RegExp(
        `^rolled back production: v2 \\(${versions[2]!.slice(0, 7)}\\) -> v1 \\(${versions[1]!.slice(0, 7)}\\) in \\d+ ms\\n$`,
      ),
    );

    const labels = await cli(['labels', 'customer_support_greeter', '--json']);
    const current = labels.json<{ labels: { label: string; version: number; sha: string }[] }>().labels;
    expect(current.find((l) => l.label === 'production')).toMatchObject({ version: 1, sha: versions[1] });
    expect(current.find((l) => l.label === 'latest')).toMatchObject({ version: 2, sha: versions[2] });

    const history = await cli(['labels', 'customer_support_greeter', '--history', '--label', 'production', '--json']);
    const deployments = history.json<{
      deployments: {
        label: string;
        kind: string;
        fromVersion: number | null;
        toVersion: number;
        actor: string;
        reason: string;
      }[];
    }>().deployments;
    expect(deployments.map((d) => [d.kind, d.fromVersion, d.toVersion, d.reason])).toEqual([
      ['rollback', 2, 1, 'customers complain'],
      ['promote', 1, 2, ''],
      ['promote', null, 1, 'first release'],
    ]);
    expect(deployments.every((d) => d.label === 'production' && d.actor.length > 0)).toBe(true);

    const human = await cli(['labels', 'customer_support_greeter', '--history', '--label', 'production']);
    expect(human.stdout).toMatch(
      /production +rollback +v2 \([0-9a-f]{7}\) -> v1 \([0-9a-f]{7}\) +\S+ +customers complain/,
    );
    const table = await cli(['labels', 'customer_support_greeter']);
    expect(table.stdout).toMatch(/production +v1 +[0-9a-f]{7} /);
  });

  it('verifies the registry', async () => {
    const result = await cli(['verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verified \d+ versions, \d+ audit entries: OK\n$/);
    expect((await cli(['verify', '--json'])).json()).toMatchObject({ ok: true, problems: [] });
  });

  it.each([
    ['bad YAML', 'template: "unclosed\nvariables: [\n', '(yaml)'],
    ['an unknown field', 'template: hi\ncolour: red\n', 'colour'],
    ['an undeclared variable', 'template: "Hi {{who}}"\n', 'template'],
    ['a wrong type', 'template: hi\nvariables:\n  n: { type: number, default: "ten" }\n', 'variables.n.default'],
  ])('refuses %s: exit 1, names file and field, pushes nothing', async (_what, text, field) => {
    const folder = `broken-${field.replace(/\W/g, '')}`;
    await write(`${folder}/fresh.prompt.yaml`, FAQ);
    await write(`${folder}/broken.prompt.yaml`, text);
    const result = await cli(['push', folder]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${folder}/broken.prompt.yaml: invalid prompt file`);
    expect(result.stderr).toContain(field);
    expect(result.stderr).toContain('nothing was pushed');
    expect(result.stderr).toMatch(/\nfix: .+\n$/);
    expect(result.stdout).toBe('');
    // The valid file beside it was not pushed either.
    const log = await cli(['log', 'fresh', '--json']);
    expect(log.code).toBe(1);
    expect(log.json()).toMatchObject({ error: { code: 'prompt_not_found' } });
  });

  it('without a key: exit 1 with the 401 message and where to put a key', async () => {
    const noKey = { PROMPTOPS_URL: server.url };
    const result = await cli(['log', 'customer_support_greeter'], { env: noKey });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .+\nfix: no API key was given: pass --api-key or set PROMPTOPS_API_KEY/);
    const json = await cli(['log', 'customer_support_greeter', '--json'], { env: noKey });
    expect(json.code).toBe(1);
    expect(json.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await cli(['log', 'customer_support_greeter', '--api-key', 'po_wrong_key_000000000000000000000000']);
    expect(wrong.code).toBe(1);
    expect(wrong.json).toThrow();
    expect(wrong.stderr).toMatch(/^error: /);
  });

  it('reports a missing version with exit 1', async () => {
    const result = await cli(['show', 'customer_support_greeter@v99']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*v99/);
  });
});

describe('promptops serve', () => {
  it('starts, writes credentials the CLI then uses, and stops on abort', async () => {
    const dir = await tempDir('promptops-cli-serve-');
    const controller = new AbortController();
    let announced: (url: string) => void = () => {};
    const listening = new Promise<string>((resolve) => (announced = resolve));
    let seen = '';
    const serving = run(['serve', '--port', '0', '--db', await testDatabase('sqlite')], {
      cwd: dir,
      env: {},
      signal: controller.signal,
      onStdout: (text) => {
        seen += text;
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match) announced(match[1]!);
      },
    });
    const url = await Promise.race([
      listening,
      serving.then((r) => Promise.reject(new Error(`serve exited ${r.code}: ${r.stderr}`))),
    ]);
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok' });
      const credentials = JSON.parse(await readFile(join(dir, '.promptops', 'credentials.json'), 'utf8')) as {
        url: string;
        apiKey: string;
      };
      expect(credentials.url).toBe(url);
      // No --url, no key: both come from .promptops/credentials.json in the working directory.
      await writeFile(join(dir, 'p.prompt.yaml'), FAQ);
      const pushed = await run(['push', 'p.prompt.yaml', '--json'], { cwd: dir, env: {} });
      expect(pushed.code).toBe(0);
      expect(pushed.json()).toMatchObject({ results: [{ name: 'p', status: 'new', version: 1 }] });
    } finally {
      controller.abort();
    }
    const result = await serving;
    expect(result.code).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });
});
