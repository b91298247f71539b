import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyOverrideEvent,
  applyRolloutEvent,
  effectivePrompt,
  overrideSha,
  parseOverride,
  promptSha,
  resolveFromSnapshot,
  resolveTenant,
  type PromptContent,
  type Snapshot,
  type SnapshotOverride,
} from '../src/index.js';
import { textArb } from './arbitraries.js';

const base: PromptContent = {
  name: 'greeter',
  type: 'text',
  config: { params: {} },
  variables: {},
  slots: { greeting: 'Hello', closing: 'Bye' },
  template: '{{> greeting}}. {{> closing}}',
};
const BASE_SHA = promptSha(base);

const entry = (slots: Record<string, string>, label = 'production', version = 1): SnapshotOverride => {
  const override = parseOverride({ slots });
  return { version, sha: overrideSha(override), label, override, base: null };
};

const snapshotWith = (overrides: Record<string, SnapshotOverride>): Snapshot => ({
  project: 'p',
  cursor: 1,
  prompts: {
    greeter: {
      labels: { production: BASE_SHA, staging: BASE_SHA },
      versions: { [BASE_SHA]: { version: 1, sha: BASE_SHA, content: base } },
      overrides,
    },
  },
});

const resolve = (snapshot: Snapshot, tenant: string, label = 'production') =>
  resolveTenant(snapshot, resolveFromSnapshot(snapshot, 'greeter', { label })!, tenant);

describe('tenant resolution from a snapshot', () => {
  it('serves a tenant its own override on its label, with the three shas; others get the base', () => {
    const snapshot = snapshotWith({ acme: entry({ greeting: 'Good day' }) });
    const acme = resolve(snapshot, 'acme');
    const expected = effectivePrompt(base, parseOverride({ slots: { greeting: 'Good day' } }));
    expect(acme).toEqual({
      tenant: 'acme',
      content: expected.content,
      sha: expected.sha,
      baseSha: BASE_SHA,
      overrideSha: expected.overrideSha,
    });
    expect(resolve(snapshot, 'globex')).toEqual({
      tenant: 'globex',
      content: base,
      sha: BASE_SHA,
      baseSha: BASE_SHA,
      overrideSha: null,
    });
    expect(resolve(snapshot, 'acme', 'staging').overrideSha).toBeNull();
    expect(resolve(snapshot, 'constructor').overrideSha).toBeNull();
  });

  it('serves the shared base when the override no longer fits it', () => {
    const snapshot = snapshotWith({ acme: entry({ opening: 'x' }) });
    expect(resolve(snapshot, 'acme')).toMatchObject({ sha: BASE_SHA, overrideSha: null });
  });

  it('applies override events, and rollout events keep the overrides', () => {
    let snapshot = snapshotWith({});
    snapshot = applyOverrideEvent(snapshot, {
      type: 'override',
      seq: 2,
      name: 'greeter',
      tenant: 'acme',
      override: entry({ greeting: 'Yo' }),
    });
    expect(resolve(snapshot, 'acme').content.slots['greeting']).toBe('Yo');
    snapshot = applyRolloutEvent(snapshot, {
      type: 'rollout',
      seq: 3,
      name: 'greeter',
      label: 'production',
      rollout: null,
    });
    expect(resolve(snapshot, 'acme').content.slots['greeting']).toBe('Yo');
    expect(
      applyOverrideEvent(snapshot, { type: 'override', seq: 3, name: 'greeter', tenant: 'acme', override: null }),
    ).toBe(snapshot);
    snapshot = applyOverrideEvent(snapshot, {
      type: 'override',
      seq: 4,
      name: 'greeter',
      tenant: 'acme',
      override: null,
    });
    expect(resolve(snapshot, 'acme').overrideSha).toBeNull();
  });

  it('no tenant ever resolves another tenant’s override (property)', () => {
    const tenantArb = fc.constantFrom('acme', 'globex', 'initech', 'umbrella', 'toString', '__proto__x');
    fc.assert(
      fc.property(
        fc.dictionary(tenantArb, fc.record({ greeting: textArb(), closing: textArb() }, { requiredKeys: [] })),
        tenantArb,
        (chosen, asked) => {
          const overrides = Object.fromEntries(Object.entries(chosen).map(([t, slots]) => [t, entry(slots)]));
          const got = resolve(snapshotWith(overrides), asked);
          expect(got.tenant).toBe(asked);
          const own = Object.hasOwn(overrides, asked) ? overrides[asked] : undefined;
          const expected = own === undefined ? { content: base, sha: BASE_SHA } : effectivePrompt(base, own.override);
          expect(got.content).toEqual(expected.content);
          expect(got.sha).toBe(expected.sha);
          expect(got.overrideSha).toBe(own === undefined ? null : own.sha);
        },
      ),
    );
  });
});
