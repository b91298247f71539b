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
