import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLockfile,
  formatLockfile,
  overrideSha,
  parseLockfile,
  parsePromptFile,
  promptSha,
} from '@promptops/core';
import { createClient } from '../../sdk/src/index.js';
import { hashTree, run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * Prompts as code for tenant overrides: `prompts/overrides/<tenant>/<name>.override.yaml` pushed (only
 * when changed; `--dry-run` writes nothing), locked (the lockfile pins them, and the SDK serves them from
 * it offline), pulled back byte-identical, and checked offline with errors naming the file and field.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const GREETER = [
  'template: "{{> greeting}} {{name}}. How can I help with {{topic}}?"',
  'variables:',
  '  name: string',
  '  topic: { type: string, default: billing }',
  'slots:',
  '  greeting: "Hi"',
  'model: { provider: openai, name: gpt-4o-mini, temperature: 0.7 }',
  '',
].join('\n');

const ACME_FILE = [
  'slots:',
  '  greeting: Good day',
  'variables:',
  '  topic: accounts',
  'params:',
  '  temperature: 0.1',
  'message: acme greets formally',
  '',
].join('\n');
const ACME_PATH = 'prompts/overrides/acme/greeter.override.yaml';

describe('override files (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-override-files-');
    await writeAt(dir, 'prompts/greeter.prompt.yaml', GREETER);
    expect((await cli(['push', '-m', 'first'])).code).toBe(0);
    expect((await cli(['promote', 'greeter', 'v1', '--label', 'production'])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('pushes (dry run first), locks, serves offline from the lock, pulls and checks an override file', async () => {
    await writeAt(dir, ACME_PATH, ACME_FILE);

    const dry = await cli(['push', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<Json>()).toMatchObject({
      dryRun: true,
      results: [{ name: 'greeter', status: 'unchanged' }],
      overrides: [{ name: 'greeter', tenant: 'acme', status: 'set', version: 1, file: ACME_PATH }],
    });
    expect((await cli(['override', 'list', 'greeter', '--json'])).json<Json>()).toMatchObject({ tenants: [] });

    const pushed = await cli(['push', '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.json<Json>().overrides).toMatchObject([
      { tenant: 'acme', status: 'set', version: 1, label: 'production' },
    ]);
    const shown = (await cli(['override', 'show', 'greeter', '--tenant', 'acme', '--json'])).json<Json>();
    expect(shown).toMatchObject({
      override: { version: 1, message: 'acme greets formally', override: { slots: { greeting: 'Good day' } } },
    });

    const again = await cli(['push']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/greeter for acme: unchanged override v1/);
    expect(again.stdout).toMatch(/1 override: 0 set, 1 unchanged/);
    expect((await cli(['push', '--dry-run', '--json'])).json<Json>().overrides[0].status).toBe('unchanged');

    // Another tenant set through the API (not a file): the lock pins it too.
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
    const lock = await cli(['lock', '--embed', '--json']);
    expect(lock.code, lock.stderr).toBe(0);
    expect(lock.json<Json>().prompts[0].overrides.map((o: Json) => o.tenant)).toEqual(['acme', 'globex']);
    const lockText = await readFile(join(dir, 'promptops.lock'), 'utf8');
    const parsed = parseLockfile(lockText);
    expect(parsed.prompts['greeter']!.overrides!['acme']!.sha).toBe(shown.override.sha);

    // Only the lockfile: acme gets its override, initech (none) the shared prompt.
    const client = createClient({
      url: 'http://127.0.0.1:9',
      apiKey: 'po_unused',
      fallback: { lockfile: join(dir, 'promptops.lock') },
      onError: () => undefined,
    });
    try {
      await client.ready();
      const acme = client.get('greeter', { tenant: 'acme' });
      expect(acme).toMatchObject({ source: 'fallback', overrideSha: shown.override.sha });
      expect(acme.render({ name: 'Ann' })).toMatchObject({ text: 'Good day Ann. How can I help with accounts?' });
      expect(client.get('greeter', { tenant: 'initech' }).render({ name: 'Ann' })).toMatchObject({
        text: 'Hi Ann. How can I help with billing?',
      });
    } finally {
      await client.close();
    }

    const check = await cli(['check', '--no-evals', '--json']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.json<Json>().files).toContainEqual(
      expect.objectContaining({ file: ACME_PATH, tenant: 'acme', name: 'greeter', ok: true }),
    );

    // Pull: the tree is unchanged except globex's new file; a second pull changes nothing.
    const before = await hashTree(join(dir, 'prompts'));
    const pull = await cli(['pull', '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.json<Json>().overrides).toMatchObject([
      { tenant: 'acme', status: 'unchanged' },
      { tenant: 'globex', status: 'created', file: 'prompts/overrides/globex/greeter.override.yaml' },
    ]);
    const after = await hashTree(join(dir, 'prompts'));
    expect({ ...after, 'overrides/globex/greeter.override.yaml': undefined }).toEqual({
      ...before,
      'overrides/globex/greeter.override.yaml': undefined,
    });
    expect((await cli(['pull', '--json'])).json<Json>().overrides.map((o: Json) => o.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    // The pulled file pushes back as unchanged, and the check against the lock passes.
    expect((await cli(['push', '--json'])).json<Json>().overrides.map((o: Json) => o.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    expect((await cli(['check', '--no-evals'])).code).toBe(0);

    // A fresh checkout: pull writes both files, which read back as the registry's overrides.
    const fresh = await tempDir('promptops-cli-override-pull-');
    const cloned = await run(['pull', '--json'], { env: registry.env, cwd: fresh });
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(cloned.json<Json>().overrides.map((o: Json) => o.status)).toEqual(['created', 'created']);
    expect(await readFile(join(fresh, 'prompts/overrides/globex/greeter.override.yaml'), 'utf8')).toBe(
      'slots:\n  greeting: Hallo\nmessage: de\n',
    );

    // A local edit the registry lacks is kept without --force, and is stale against the lock.
    await writeAt(dir, ACME_PATH, ACME_FILE.replace('Good day', 'Good evening'));
    const kept = await cli(['pull', '--json']);
    expect(kept.code).toBe(1);
    expect(kept.json<Json>().overrides[0]).toMatchObject({
      tenant: 'acme',
      status: 'skipped',
      error: { code: 'local_changes' },
    });
    const stale = await cli(['check', '--no-evals', '--json']);
    expect(stale.code).toBe(1);
    expect(stale.json<Json>().problems).toContainEqual(
      expect.objectContaining({ file: ACME_PATH, code: 'stale_lock' }),
    );
    expect((await cli(['pull', '--force'])).code).toBe(0);
    expect(await readFile(join(dir, ACME_PATH), 'utf8')).toContain('Good day');
  });

  it('refuses a push naming a slot the prompt lacks, and pushes nothing for an invalid file', async () => {
    const work = await tempDir('promptops-cli-override-bad-');
    await writeAt(work, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(work, 'prompts/overrides/initech/greeter.override.yaml', 'slots:\n  farewell: Bye\n');
    const refused = await run(['push', '--json'], { env: registry.env, cwd: work });
    expect(refused.code).toBe(1);
    expect(refused.json<Json>().overrides[0]).toMatchObject({
      tenant: 'initech',
      status: 'error',
      error: { code: 'override_unknown_slot' },
    });
    expect(refused.json<Json>().overrides[0].error.message).toContain('greeting');

    // A dry run with a prompt the push would create: its override would be set, nothing is written.
    await writeAt(work, 'prompts/newcomer.prompt.yaml', GREETER);
    await writeAt(work, 'prompts/overrides/initech/newcomer.override.yaml', 'slots:\n  greeting: Yo\n');
    const dry = await run(
      [
        'push',
        '--dry-run',
        '--json',
        'prompts/newcomer.prompt.yaml',
        'prompts/overrides/initech/newcomer.override.yaml',
      ],
      {
        env: registry.env,
        cwd: work,
      },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<Json>()).toMatchObject({
      results: [{ name: 'newcomer', status: 'new', version: 1 }],
      overrides: [{ name: 'newcomer', tenant: 'initech', status: 'set', version: 1 }],
    });
    expect((await run(['prompts', '--json'], { env: registry.env, cwd: work })).stdout).not.toContain('newcomer');

    await writeAt(work, 'prompts/overrides/initech/greeter.override.yaml', 'colour: red\n');
    const invalid = await run(['push', '--json'], { env: registry.env, cwd: work });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr + invalid.stdout).toContain('prompts/overrides/initech/greeter.override.yaml');
    expect(invalid.stderr + invalid.stdout).toContain('colour');
  });
});

describe('promptops check on override files (offline)', () => {
  it('names the file and the field: unknown slot (with the slots it has), bad tenant id, unknown field', async () => {
    const work = await tempDir('promptops-cli-override-check-');
    await writeAt(work, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(work, 'prompts/overrides/acme/greeter.override.yaml', 'slots:\n  farewell: Bye\n');
    await writeAt(work, 'prompts/overrides/not a tenant!/greeter.override.yaml', 'slots:\n  greeting: Yo\n');
    await writeAt(work, 'prompts/overrides/globex/greeter.override.yaml', 'slots:\n  greeting: Hallo\ncolour: red\n');
    await writeAt(work, 'prompts/overrides/initech/greeter.override.yaml', 'params:\n  temperature: 7\n');
    await writeAt(work, 'prompts/overrides/acme/missing.override.yaml', 'slots:\n  greeting: Yo\n');
    const result = await run(['check', '--no-evals', '--json'], { cwd: work });
    expect(result.code).toBe(1);
    const problems = result.json<Json>().problems as Json[];
    const at = (file: string) => problems.filter((p) => p.file === `prompts/overrides/${file}`);
    expect(at('acme/greeter.override.yaml')).toEqual([
      expect.objectContaining({ path: 'slots.farewell', code: 'override_unknown_slot', name: 'greeter' }),
    ]);
    expect(at('acme/greeter.override.yaml')[0]!.message).toContain('its slots: greeting');
    expect(at('not a tenant!/greeter.override.yaml')).toEqual([
      expect.objectContaining({ path: 'tenant', code: 'invalid_override' }),
    ]);
    expect(at('globex/greeter.override.yaml')).toEqual([
      expect.objectContaining({ path: 'colour', code: 'invalid_override' }),
    ]);
    expect(at('initech/greeter.override.yaml')).toEqual([
      expect.objectContaining({ path: 'params.temperature', code: 'invalid_override' }),
    ]);
    expect(at('acme/missing.override.yaml')).toEqual([expect.objectContaining({ code: 'prompt_not_found' })]);

    // Against a lock: a tenant named like an Object property is just a name (own-property lookups).
    const own = await tempDir('promptops-cli-override-own-');
    await writeAt(own, 'prompts/greeter.prompt.yaml', GREETER);
    await writeAt(own, 'prompts/overrides/constructor/greeter.override.yaml', 'slots:\n  greeting: Yo\n');
    const content = parsePromptFile(GREETER, { file: 'greeter', defaultName: 'greeter' });
    await writeAt(
      own,
      'promptops.lock',
      formatLockfile(
        createLockfile({
          greeter: {
            sha: promptSha(content),
            version: 1,
            label: 'production',
            overrides: {
              acme: {
                version: 1,
                sha: overrideSha({ slots: { greeting: 'Hey' } }),
                label: 'production',
                override: { slots: { greeting: 'Hey' } },
                base: null,
              },
            },
          },
        }),
      ),
    );
    const ownCheck = await run(['check', '--no-evals', '--json'], { cwd: own });
    expect(ownCheck.json<Json>().problems).toEqual([
      expect.objectContaining({
        code: 'stale_lock',
        message: expect.stringContaining('has no override of "greeter" for tenant constructor'),
      }),
    ]);

    const text = await run(['check', '--no-evals'], { cwd: work });
    expect(text.stdout).toContain('prompts/overrides/acme/greeter.override.yaml');
    expect(text.stdout).toMatch(/slots\.farewell: prompt 'greeter' has no slot 'farewell'; its slots: greeting/);
    expect(text.stdout).toMatch(/checked 1 prompt file and 5 override files: /);
  });
});
