import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * `promptops override …`, `show NAME@LABEL --tenant` and `diff --from-tenant/--to-tenant` against a real
 * server: set (slot from text or file, variable defaults, params), show, log, diff, rollback, list; exit codes.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const GREETER = [
  'template: "{{> greeting}} {{name}}.\\nHow can I help with {{topic}}?"',
  'variables:',
  '  name: string',
  '  topic: { type: string, default: billing }',
  'slots:',
  '  greeting: "Hi"',
  'model: { provider: openai, name: gpt-4o-mini, temperature: 0.7 }',
  '',
].join('\n');

describe('promptops override (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-override-');
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(dir, 'acme-greeting.txt', 'Good day, dear');
    expect((await cli(['push', '-m', 'first'])).code).toBe(0);
    expect((await cli(['promote', 'greeter', 'v1', '--label', 'production'])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('sets, shows, logs, diffs, lists and rolls back a tenant override', async () => {
    const set = await cli([
      'override',
      'set',
      'greeter',
      '--tenant',
      'acme',
      '--slot',
      'greeting=acme-greeting.txt',
      '--var',
      'topic=accounts',
      '--param',
      'temperature=0.1',
      '-m',
      'acme greets formally',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^set acme's override of greeter: v1 [0-9a-f]{7} \(follows production\)/m);

    const again = await cli([
      'override',
      'set',
      'greeter',
      '--tenant',
      'acme',
      '--slot',
      'greeting=acme-greeting.txt',
      '--var',
      'topic=accounts',
      '--param',
      'temperature=0.1',
      '-m',
      'same',
      '--json',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<Json>()).toMatchObject({ created: false, override: { version: 1 } });

    const globex = await cli([
      'override',
      'set',
      'greeter',
      '--tenant',
      'globex',
      '--slot',
      'greeting=Hallo',
      '-m',
      'de',
    ]);
    expect(globex.code, globex.stderr).toBe(0);
    const globex2 = await cli([
      'override',
      'set',
      'greeter',
      '--tenant',
      'globex',
      '--slot',
      'greeting=Guten Tag',
      '-m',
      'formal de',
    ]);
    expect(globex2.code, globex2.stderr).toBe(0);

    const show = await cli(['override', 'show', 'greeter', '--tenant', 'acme']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^effective sha\s+[0-9a-f]{64}/m);
    expect(show.stdout).toContain('greeting: Good day, dear');
    expect(show.stdout).toContain('temperature: 0.1');
    const showJson = (await cli(['override', 'show', 'greeter', '--tenant', 'acme', '--json'])).json<Json>();
    expect(showJson['override']).toMatchObject({
      tenant: 'acme',
      version: 1,
      override: { slots: { greeting: 'Good day, dear' } },
    });
    expect(showJson['effective']['sha']).toMatch(/^[0-9a-f]{64}$/);

    // The effective prompt marks the lines the override supplies.
    const effective = await cli(['show', 'greeter@production', '--tenant', 'acme']);
    expect(effective.code, effective.stderr).toBe(0);
    expect(effective.stdout).toContain(`tenant acme: override v1`);
    expect(effective.stdout).toMatch(/^T \s*Good day, dear$/m);
    expect(effective.stdout).toMatch(/^ {2}\{\{> greeting\}\} \{\{name\}\}\.$/m);
    expect(effective.stdout).toMatch(/^T variables\.topic\.default: "accounts"$/m);
    const effectiveJson = (await cli(['show', 'greeter@production', '--tenant', 'acme', '--json'])).json<Json>();
    expect(effectiveJson['effective']['sha']).toBe(showJson['effective']['sha']);
    const plain = await cli(['show', 'greeter@production', '--tenant', 'initech']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('tenant initech has no override: the shared prompt');
    expect(plain.stdout).not.toContain('Good day');

    const log = await cli(['override', 'log', 'greeter', '--tenant', 'globex']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/^v2\s+[0-9a-f]{7}\s+production\s+key:admin\s+.*formal de$/m);
    expect(log.stdout).toMatch(/^v1\s+[0-9a-f]{7}\s+production\s+key:admin\s+.*de$/m);

    const diff = await cli(['override', 'diff', 'greeter', '--tenant', 'globex']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('-Hi');
    expect(diff.stdout).toContain('+Guten Tag');

    const tenants = await cli([
      'diff',
      'greeter',
      'production',
      'production',
      '--from-tenant',
      'acme',
      '--to-tenant',
      'globex',
    ]);
    expect(tenants.code, tenants.stderr).toBe(0);
    expect(tenants.stdout).toContain('-Good day, dear');
    expect(tenants.stdout).toContain('+Guten Tag');
    expect(tenants.stdout).toContain('variables.topic.default: "accounts" -> "billing"');

    const list = await cli(['override', 'list', 'greeter']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^acme\s+v1\s+[0-9a-f]{7}\s+production/m);
    expect(list.stdout).toMatch(/^globex\s+v2\s+[0-9a-f]{7}\s+production/m);

    const back = await cli(['override', 'rollback', 'greeter', '--tenant', 'globex', '--to', '1']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/rolled globex's override of greeter back to v1: now v3/);
    const afterBack = (await cli(['override', 'show', 'greeter', '--tenant', 'globex', '--json'])).json<Json>();
    expect(afterBack['override']['override']).toEqual({ slots: { greeting: 'Hallo' } });
  });

  it('refuses bad input with clear errors and exit codes', async () => {
    const unknownSlot = await cli([
      'override',
      'set',
      'greeter',
      '--tenant',
      'acme',
      '--slot',
      'farewell=Bye',
      '-m',
      'x',
    ]);
    expect(unknownSlot.code).toBe(1);
    expect(unknownSlot.stderr).toContain('does not have; its slots: greeting');
    const noEquals = await cli(['override', 'set', 'greeter', '--tenant', 'acme', '--slot', 'greeting', '-m', 'x']);
    expect(noEquals.code).toBe(2);
    expect(noEquals.stderr).toContain('--slot takes NAME=FILE|TEXT');
    const badParam = await cli(['override', 'set', 'greeter', '--tenant', 'acme', '--param', 'top_p=1', '-m', 'x']);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toContain('--param takes temperature, maxTokens or model');
    const nothing = await cli(['override', 'set', 'greeter', '--tenant', 'acme', '-m', 'x']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to override');
    const badTenant = await cli(['override', 'show', 'greeter', '--tenant', 'a/b']);
    expect(badTenant.code).toBe(2);
    expect(badTenant.stderr).toContain('is not a tenant id');
    const missing = await cli(['override', 'show', 'greeter', '--tenant', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("tenant 'nobody' has no override of 'greeter'");
    const help = await cli(['override', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes');
  });
});
