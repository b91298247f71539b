import { describe, expect, it } from 'vitest';
import {
  createLockfile,
  formatLockfile,
  overrideSha,
  parseLockfile,
  parseOverride,
  promptSha,
  releaseShaOf,
  resolveFromSnapshot,
  resolveTenant,
  snapshotFromLockfile,
  type LockEntry,
  type PromptContent,
} from '../src/index.js';

/**
 * `promptops.lock` pins each tenant's override of a prompt (sha, content, pinned base), verified on read
 * like embedded versions; the snapshot made of it serves a tenant its own effective prompt and nobody
 * another tenant's.
 */

const content = (revision: number): PromptContent => ({
  name: 'greeter',
  type: 'text',
  template: `{{> greeting}} {{user}} (r${revision})`,
  config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
  variables: { user: { type: 'string', required: true } },
  slots: { greeting: 'Hello' },
});
const v1 = content(1);
const v2 = content(2);
const ACME = { slots: { greeting: 'Good day' } };
const INITECH = { slots: { greeting: 'Yo' } };

const entry = (overrides: LockEntry['overrides']): LockEntry => ({
  sha: promptSha(v2),
  version: 2,
  label: 'production',
  content: v2,
  ...(overrides === undefined ? {} : { overrides }),
});
const acme = { version: 3, sha: overrideSha(parseOverride(ACME)), label: 'production', override: ACME, base: null };
const initech = {
  version: 1,
  sha: overrideSha(parseOverride(INITECH)),
  label: 'production',
  override: INITECH,
  base: { version: 1, sha: promptSha(v1), content: v1 },
};

describe('lockfile overrides', () => {
  it('round-trips overrides and keeps the release sha of a lock without them', () => {
    const plain = createLockfile({ greeter: entry(undefined) });
    expect(plain.releaseSha).toBe(releaseShaOf({ greeter: { sha: promptSha(v2) } }));
    const lock = createLockfile({ greeter: entry({ initech, acme }) });
    expect(lock.releaseSha).not.toBe(plain.releaseSha);
    const text = formatLockfile(lock);
    expect(Object.keys(JSON.parse(text).prompts.greeter.overrides)).toEqual(['acme', 'initech']);
    expect(formatLockfile(parseLockfile(text))).toBe(text);
    expect(parseLockfile(text).prompts['greeter']!.overrides!['acme']!.sha).toBe(acme.sha);
  });

  it('refuses an override that does not hash to its sha, a bad base, a bad tenant or a bad override', () => {
    const text = formatLockfile(createLockfile({ greeter: entry({ acme, initech }) }));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a lockfile edited by hand, any shape
    const edit = (change: (doc: any) => void): string => {
      const doc = JSON.parse(text);
      change(doc);
      return JSON.stringify(doc);
    };
    const code = (t: string): string | undefined => {
      try {
        parseLockfile(t);
        return undefined;
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    expect(code(edit((d) => (d.prompts.greeter.overrides.acme.override.slots.greeting = 'Hi')))).toBe(
      'lockfile_tampered',
    );
    expect(code(edit((d) => (d.prompts.greeter.overrides.initech.base.content.template = 'x')))).toBe(
      'lockfile_tampered',
    );
    expect(code(edit((d) => (d.prompts.greeter.overrides.acme.sha = '0'.repeat(64))))).toBe('lockfile_tampered');
    // The release sha covers the override's sha: changing both the override and its sha is still caught.
    expect(
      code(
        edit((d) => {
          d.prompts.greeter.overrides.acme.override = INITECH;
          d.prompts.greeter.overrides.acme.sha = initech.sha;
        }),
      ),
    ).toBe('lockfile_tampered');
    expect(code(edit((d) => (d.prompts.greeter.overrides['not a tenant'] = d.prompts.greeter.overrides.acme)))).toBe(
      'invalid_lockfile',
    );
    expect(code(edit((d) => (d.prompts.greeter.overrides.acme.override = { template: 'x' })))).toBe('invalid_lockfile');
  });

  it("serves each tenant its own override from the lock's snapshot, others the shared prompt", () => {
    const lock = parseLockfile(formatLockfile(createLockfile({ greeter: entry({ acme, initech }) })));
    const snapshot = snapshotFromLockfile(lock);
    const shared = resolveFromSnapshot(snapshot, 'greeter')!;
    expect(resolveTenant(snapshot, shared, 'acme')).toMatchObject({
      overrideSha: acme.sha,
      baseSha: promptSha(v2),
      content: { slots: { greeting: 'Good day' } },
    });
    expect(resolveTenant(snapshot, shared, 'initech')).toMatchObject({
      overrideSha: initech.sha,
      baseSha: promptSha(v1),
    });
    for (const other of ['globex', 'constructor', '__proto__']) {
      expect(resolveTenant(snapshot, shared, other)).toMatchObject({ sha: promptSha(v2), overrideSha: null });
    }
  });
});
