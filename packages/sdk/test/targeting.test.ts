import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Resolver } from '../src/resolver.js';
import { applyRolloutChange, ingestRollout, validateSnapshot } from '../src/snapshot-store.js';

/**
 * conformance/targeting.json through the SDK: each snapshot loaded by the snapshot store, every vector
 * on that snapshot asked of one resolver twice over (the second pass is answered by the (name, label)
 * cache entry, which must not hand one context's outcome to another).
 */

interface ResolutionVector {
  readonly name: string;
  readonly snapshot: string;
  readonly get: { name: string; unitKey: string | null; context: Record<string, unknown> };
  readonly expected: Record<string, unknown>;
}

const file = JSON.parse(readFileSync(new URL('../../../conformance/targeting.json', import.meta.url), 'utf8')) as {
  resolutions: ResolutionVector[];
  labelResolutions: ResolutionVector[];
};

const bySnapshot = new Map<string, ResolutionVector[]>();
for (const v of [...file.resolutions, ...file.labelResolutions])
  bySnapshot.set(v.snapshot, [...(bySnapshot.get(v.snapshot) ?? []), v]);

describe('conformance: targeting.json through get(name, { unitKey, context })', () => {
  for (const [text, vectors] of bySnapshot) {
    describe(vectors[0]!.name.split(':')[0]!, () => {
      const resolver = new Resolver();
      resolver.setSnapshot(validateSnapshot(JSON.parse(text), 'targeting vector'));
      for (const pass of [1, 2]) {
        it.each(vectors.map((v) => [v.name, v] as const))(`pass ${pass}: %s`, (_, v) => {
          const got = resolver.get(v.get.name, { unitKey: v.get.unitKey, context: v.get.context });
          expect({
            version: got.version,
            sha: got.sha,
            label: got.label,
            variant: got.variant,
            rolloutId: got.rolloutId,
            shadowSha: got.shadow?.sha ?? null,
          }).toEqual(without(without(v.expected, 'rule'), 'labelRule'));
        });
      }
    });
  }

  it('takes the context targetingKey as the unit key when none is given', () => {
    const v = file.resolutions.find((r) => r.name.startsWith('an empty rule list') && r.get.unitKey === 'user-7')!;
    const resolver = new Resolver();
    resolver.setSnapshot(validateSnapshot(JSON.parse(v.snapshot), 'targeting vector'));
    const viaContext = resolver.get(v.get.name, { context: { targetingKey: 'user-7' } });
    expect(viaContext.variant).toBe('candidate');
    expect(resolver.get(v.get.name, { unitKey: 'user-7' })).toBe(viaContext);
  });
});

const without = (record: Record<string, unknown>, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));

describe('rules and the kill switch from the change feed', () => {
  const snapshotText = file.resolutions[0]!.snapshot;

  it('refuses a rollout whose rules are malformed, naming the field', () => {
    const raw = JSON.parse(snapshotText) as { prompts: Record<string, { rollouts: Record<string, unknown> }> };
    const rollout = raw.prompts.customer_support_greeter!.rollouts.production as Record<string, unknown>;
    expect(() =>
      ingestRollout(
        'customer_support_greeter',
        'production',
        { ...rollout, rules: [{ when: [], serve: {} }] },
        'event',
      ),
    ).toThrow(/invalid targeting rules.*rules\[0\]\.serve/s);
    expect(() =>
      ingestRollout('customer_support_greeter', 'production', { ...rollout, killed: 'yes' }, 'event'),
    ).toThrow(/killed/);
  });

  it('a kill event moves every unit to the baseline and reports a change', () => {
    const snapshot = validateSnapshot(JSON.parse(snapshotText), 'targeting vector');
    const resolver = new Resolver();
    resolver.setSnapshot(snapshot);
    const acme = { context: { email: 'zoe@acme.example' }, unitKey: 'u1' };
    expect(resolver.get('customer_support_greeter', acme).variant).toBe('candidate');
    const before = snapshot.prompts.customer_support_greeter!.rollouts!.production!;
    const killed = ingestRollout('customer_support_greeter', 'production', { ...before, killed: true }, 'event')!;
    const { snapshot: next, change } = applyRolloutChange(
      snapshot,
      { type: 'rollout', seq: snapshot.cursor + 1, name: 'customer_support_greeter', label: 'production', rollout: {} },
      killed,
    );
    expect(change).toBeDefined();
    resolver.updateSnapshot(next, 'customer_support_greeter');
    expect(resolver.get('customer_support_greeter', acme)).toMatchObject({
      variant: 'baseline',
      rolloutId: 'ro_01hx7k',
    });
  });
});
