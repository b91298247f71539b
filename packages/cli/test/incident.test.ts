import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * `promptops incident …` and `promptops monitor …` against a real server: open by hand, list, show (the
 * timeline with times, the figures), ack, resolve, postmortem; monitors added, listed, removed; exit codes.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const FAQ = (line: string): string => `template: "${line} {{question}}"\nvariables: { question: string }\n`;

describe('promptops incident and monitor (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-incident-');
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly:'));
    expect((await cli(['push', '-m', 'first'])).code).toBe(0);
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Whatever:'));
    expect((await cli(['push', '-m', 'careless'])).code).toBe(0);
    expect((await cli(['promote', 'faq', 'v1', '--label', 'production'])).code).toBe(0);
    expect((await cli(['promote', 'faq', 'v2', '--label', 'production'])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('opens, lists, shows, acknowledges, resolves and drafts the postmortem of an incident', async () => {
    const opened = await cli(['incident', 'open', 'faq', '--label', 'production', '-m', 'answers are rude']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain('opened incident 1 [open] faq:production: answers are rude');
    expect(opened.stdout).toContain('promptops incident show 1');

    const list = await cli(['incident', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^1\s+open\s+faq\s+production\s+answers are rude\s+key:admin/m);
    expect((await cli(['incident', 'list', '--state', 'resolved'])).stdout).toContain('no incidents');

    const show = await cli(['incident', 'show', '1']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('incident 1 [open] faq:production: answers are rude');
    expect(show.stdout).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+introduced\s+key:admin\s+faq:production moved from v1 to v2/m,
    );
    expect(show.stdout).toMatch(/\s+opened\s+key:admin\s+incident opened/);
    expect(show.stdout).toMatch(/^time to detect\s+\S+/m);
    expect(show.stdout).toMatch(/^time to mitigate\s+—/m);
    expect(show.stdout).toMatch(/^traces affected\s+0/m);
    expect(show.stdout).toMatch(/^mean score\s+before —, during —, after —/m);
    const json = (await cli(['incident', 'show', '1', '--json'])).json<Json>();
    expect(json['incident']).toMatchObject({ id: 1, state: 'open', promptName: 'faq' });
    expect(json['timeline'].map((e: Json) => e['kind'])).toEqual(['introduced', 'opened', 'notified']);
    expect(json['figures']).toMatchObject({ tracesAffected: 0, timeToMitigateMs: null });

    const ack = await cli(['incident', 'ack', '1']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toContain('acknowledged incident 1 [acknowledged]');
    const resolved = await cli(['incident', 'resolve', '1', '-m', 'v3 is kind again', '--json']);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.json<Json>()).toMatchObject({ id: 1, state: 'resolved' });
    const again = await cli(['incident', 'resolve', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already resolved');

    const postmortem = await cli(['incident', 'postmortem', '1']);
    expect(postmortem.code, postmortem.stderr).toBe(0);
    expect(postmortem.stdout).toMatch(/^# Incident 1: answers are rude/);
    expect(postmortem.stdout).toContain('## Timeline');
    expect(postmortem.stdout).toContain('v3 is kind again');
    expect((await cli(['incident', 'postmortem', '1', '--json'])).json<Json>()['markdown']).toContain('## Timeline');

    const missing = await cli(['incident', 'show', '99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no incident 99');
  });

  it('adds, lists and removes monitors', async () => {
    const added = await cli([
      'monitor',
      'add',
      'faq',
      '--label',
      'production',
      '--condition',
      'score:-0.1',
      'error_rate:+0.05',
      '--action',
      'rollback',
      '--window',
      '30m',
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const monitor = added.json<Json>();
    expect(monitor).toMatchObject({
      promptName: 'faq',
      label: 'production',
      config: {
        action: 'rollback',
        windowMs: 1_800_000,
        conditions: [
          { metric: 'score', threshold: -0.1 },
          { metric: 'error_rate', threshold: 0.05 },
        ],
      },
    });
    const list = await cli(['monitor', 'list', 'faq']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${monitor['id']}\\s+production\\s+score -0\\.1, error_rate \\+0\\.05\\s+rollback\\s+never`, 'm'),
    );

    const removed = await cli(['monitor', 'rm', 'faq', String(monitor['id'])]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removed monitor ${monitor['id']} from faq`);
    const gone = await cli(['monitor', 'rm', 'faq', String(monitor['id'])]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`no monitor ${monitor['id']}`);
  });

  it('exits 2 on usage mistakes, with help for every subcommand', async () => {
    expect((await cli(['incident', 'show', 'one'])).code).toBe(2);
    expect((await cli(['incident', 'open', 'faq', '-m', 'x'])).code).toBe(2);
    expect((await cli(['incident', 'list', '--state', 'closed'])).code).toBe(2);
    const condition = await cli(['monitor', 'add', 'faq', '--label', 'production', '--condition', 'score:+0.1']);
    expect(condition.code).toBe(2);
    expect(condition.stderr).toContain('--condition score:+0.1');
    expect((await cli(['monitor', 'add', 'faq', '--label', 'production', '--action', 'page'])).code).toBe(2);
    expect((await cli(['monitor', 'add', 'faq', '--label', 'production', '--window', 'soon'])).code).toBe(2);
    for (const argv of [
      ['incident'],
      ['incident', 'open'],
      ['incident', 'list'],
      ['incident', 'show'],
      ['incident', 'ack'],
      ['incident', 'resolve'],
      ['incident', 'postmortem'],
      ['monitor'],
      ['monitor', 'list'],
      ['monitor', 'add'],
      ['monitor', 'rm'],
    ]) {
      const help = await run([...argv, '--help']);
      expect(help.code, argv.join(' ')).toBe(0);
      expect(help.stdout).toContain(`Usage: promptops ${argv.join(' ')}`);
      expect(help.stdout).toContain('--json');
    }
  });
});
