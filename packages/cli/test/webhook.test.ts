import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * `promptops webhook …` against a real server (PROMPTOPS_SECRET_KEY set, private targets allowed):
 * add prints the secret once, list never shows it, deliveries and rm; usage and exit codes.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

describe('promptops webhook (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });
  const saved = { ...process.env };

  beforeAll(async () => {
    process.env['PROMPTOPS_SECRET_KEY'] = 'cli-test-secret-key-0123456789';
    process.env['PROMPTOPS_WEBHOOK_ALLOW_PRIVATE'] = '1';
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-webhook-');
  });
  afterAll(async () => {
    await registry?.close();
    for (const name of ['PROMPTOPS_SECRET_KEY', 'PROMPTOPS_WEBHOOK_ALLOW_PRIVATE']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('adds (secret shown once), lists without the secret, shows deliveries, removes', async () => {
    const added = await cli(['webhook', 'add', 'http://127.0.0.1:9/hook', '--events', 'label.*,incident.opened']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('added webhook 1 → http://127.0.0.1:9/hook (label.*, incident.opened)');
    const secret = /secret: (whsec_\S+)/.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();

    const list = await cli(['webhook', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^1\s+http:\/\/127\.0\.0\.1:9\/hook\s+label\.\*,incident\.opened\s+json/m);
    const json = (await cli(['webhook', 'list', '--json'])).json<Json>();
    expect(json['webhooks']).toHaveLength(1);
    expect(JSON.stringify(json)).not.toContain(secret);

    const slack = await cli([
      'webhook',
      'add',
      'http://127.0.0.1:9/slack',
      '--events',
      '*',
      '--format',
      'slack',
      '--json',
    ]);
    expect(slack.code, slack.stderr).toBe(0);
    expect(slack.json<Json>()).toMatchObject({ webhook: { id: 2, format: 'slack' }, secret: expect.any(String) });

    const deliveries = await cli(['webhook', 'deliveries', '1']);
    expect(deliveries.code, deliveries.stderr).toBe(0);
    expect(deliveries.stdout).toContain('no deliveries for webhook 1');

    const removed = await cli(['webhook', 'rm', '2']);
    expect(removed.stderr).toBe('');
    expect(removed.stdout).toContain('removed webhook 2');
    expect((await cli(['webhook', 'list', '--json'])).json<Json>()['webhooks']).toHaveLength(1);
  });

  it('lists every attempt of a delivery with --attempts', async () => {
    // Port 9 (discard) refuses: each attempt is an error with no response code.
    const added = await cli(['webhook', 'add', 'http://127.0.0.1:9/attempts', '--events', 'version.pushed', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const id = String(added.json<Json>()['webhook']['id']);
    const file = join(dir, 'attempts.prompt.yaml');
    await writeFile(
      file,
      'name: attempts_prompt\ntype: text\nmodel: { provider: openai, name: gpt-4o-mini }\ntemplate: hi\n',
    );
    const pushed = await cli(['push', file]);
    expect(pushed.code, pushed.stderr).toBe(0);
    // The dispatcher runs on its own clock: wait until its first attempt is recorded.
    let deliveries: Json[] = [];
    for (let i = 0; i < 300 && (deliveries[0]?.['attemptLog']?.length ?? 0) === 0; i += 1) {
      deliveries = (await cli(['webhook', 'deliveries', id, '--json'])).json<Json>()['deliveries'] as Json[];
      if ((deliveries[0]?.['attemptLog']?.length ?? 0) === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(deliveries[0]!['attemptLog'][0]).toMatchObject({
      attempt: 1,
      responseCode: null,
      error: expect.any(String),
    });
    const shown = await cli(['webhook', 'deliveries', id, '--attempts']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^delivery\s+event\s+attempt\s+at\s+code\s+took\s+error/m);
    expect(shown.stdout).toMatch(new RegExp(`^${deliveries[0]!['id']}\\s+version\\.pushed\\s+1\\s+\\S.*—`, 'm'));
    expect((await cli(['webhook', 'rm', id])).code).toBe(0);
  });

  it('exits 2 on usage errors and 1 on refusals', async () => {
    const unknown = await cli(['webhook', 'add', 'https://example.com/', '--events', 'label.moved,nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown nope');
    expect((await cli(['webhook', 'add', 'https://example.com/'])).code).toBe(2);
    const missing = await cli(['webhook', 'deliveries', '99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no webhook 99');
    const redeliver = await cli(['webhook', 'redeliver', '1', '5']);
    expect(redeliver.code).toBe(1);
    expect(redeliver.stderr).toContain('webhook 1 has no delivery 5');
    const ftp = await cli(['webhook', 'add', 'ftp://example.com/', '--events', '*']);
    expect(ftp.code).toBe(1);
    expect(ftp.stderr).toContain('ftp: is not supported');
  });
});
