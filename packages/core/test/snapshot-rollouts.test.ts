import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR } from '../../../scripts/conformance/generate.js';
import {
  applyRolloutEvent,
  assignArm,
  promptSha,
  resolveFromSnapshot,
  type PromptContent,
  type RolloutChangeEvent,
  type Snapshot,
  type SnapshotRollout,
  type SnapshotVersion,
} from '../src/index.js';

/** Resolution under a rollout (core's one resolution for the SDKs, the server and the gateway). */

const content = (line: string): PromptContent => ({
  name: 'greeter',
  type: 'text',
  config: { params: {} },
  variables: {},
  slots: {},
  template: line,
});
const version = (n: number): SnapshotVersion => {
  const c = content(`v${n}`);
  return { version: n, sha: promptSha(c), content: c };
};
const V1 = version(1);
const V2 = version(2);

const rollout = (over: Partial<SnapshotRollout> = {}): SnapshotRollout => ({
  id: 'ro_aaaaaaaaaaaa',
  salt: 'ro_aaaaaaaaaaaa',
  mode: 'split',
  state: 'running',
  ramp: 50,
  candidate: V2,
  ...over,
});

const snapshotWith = (r: SnapshotRollout | undefined): Snapshot => ({
  project: 'p',
  cursor: 1,
  prompts: {
    greeter: {
      labels: { production: V1.sha },
      versions: { [V1.sha]: V1 },
      ...(r === undefined ? {} : { rollouts: { production: r } }),
    },
  },
});

const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);

describe('resolveFromSnapshot with rollouts', () => {
  it('is base with no rollout, whatever the unit key', () => {
    const found = resolveFromSnapshot(snapshotWith(undefined), 'greeter', { unitKey: 'user-1' });
    expect(found).toMatchObject({ sha: V1.sha, variant: 'base', rolloutId: null, shadow: null });
  });

  it('splits units by assignArm, and serves the baseline without a unit key', () => {
    const snapshot = snapshotWith(rollout());
    for (const unitKey of keys) {
      const found = resolveFromSnapshot(snapshot, 'greeter', { unitKey })!;
      const arm = assignArm('ro_aaaaaaaaaaaa', unitKey, 50).arm;
      expect(found.variant).toBe(arm);
      expect(found.sha).toBe(arm === 'candidate' ? V2.sha : V1.sha);
      expect(found.rolloutId).toBe('ro_aaaaaaaaaaaa');
      expect(found.label).toBe('production');
    }
    expect(new Set(keys.map((unitKey) => resolveFromSnapshot(snapshot, 'greeter', { unitKey })!.variant))).toEqual(
      new Set(['baseline', 'candidate']),
    );
    for (const unitKey of [undefined, null, '']) {
      expect(resolveFromSnapshot(snapshot, 'greeter', { unitKey })).toMatchObject({ variant: 'baseline', sha: V1.sha });
    }
  });

  it('a paused rollout keeps serving its ramp', () => {
    const running = snapshotWith(rollout());
    const paused = snapshotWith(rollout({ state: 'paused' }));
    for (const unitKey of keys) {
      expect(resolveFromSnapshot(paused, 'greeter', { unitKey })!.sha).toBe(
        resolveFromSnapshot(running, 'greeter', { unitKey })!.sha,
      );
    }
  });

  it('a shadow rollout answers with the baseline and names the candidate for units in its share', () => {
    const snapshot = snapshotWith(rollout({ mode: 'shadow', ramp: 30 }));
    let shadowed = 0;
    for (const unitKey of keys) {
      const found = resolveFromSnapshot(snapshot, 'greeter', { unitKey })!;
      expect(found).toMatchObject({ sha: V1.sha, variant: 'baseline', rolloutId: 'ro_aaaaaaaaaaaa' });
      const inShare = assignArm('ro_aaaaaaaaaaaa', unitKey, 30).arm === 'candidate';
      expect(found.shadow === null ? undefined : found.shadow.sha).toBe(inShare ? V2.sha : undefined);
      if (inShare) shadowed += 1;
    }
    expect(shadowed).toBeGreaterThan(0);
    expect(resolveFromSnapshot(snapshot, 'greeter')!.shadow).toBeNull();
    const all = snapshotWith(rollout({ mode: 'shadow', ramp: 100 }));
    expect(resolveFromSnapshot(all, 'greeter')!.shadow).toMatchObject({ rolloutId: 'ro_aaaaaaaaaaaa', version: 2 });
  });

  it('pins by version or sha ignore the rollout; a label ref does not', () => {
    const snapshot = snapshotWith(rollout({ ramp: 100 }));
    expect(resolveFromSnapshot(snapshot, 'greeter@v1', { unitKey: 'user-1' })).toMatchObject({
      variant: 'base',
      rolloutId: null,
    });
    expect(resolveFromSnapshot(snapshot, 'greeter@production', { unitKey: 'user-1' })).toMatchObject({
      variant: 'candidate',
      sha: V2.sha,
    });
  });
});

describe('applyRolloutEvent', () => {
  const event = (seq: number, r: SnapshotRollout | null): RolloutChangeEvent => ({
    type: 'rollout',
    seq,
    name: 'greeter',
    label: 'production',
    rollout: r,
  });

  it('sets and clears a label rollout, and ignores replays', () => {
    const started = applyRolloutEvent(snapshotWith(undefined), event(2, rollout()));
    expect(started.cursor).toBe(2);
    expect(started.prompts['greeter']!.rollouts!['production']!.id).toBe('ro_aaaaaaaaaaaa');
    expect(started.prompts['greeter']!.labels).toEqual({ production: V1.sha });
    expect(applyRolloutEvent(started, event(2, null))).toBe(started);
    const ended = applyRolloutEvent(started, event(3, null));
    expect(ended.prompts['greeter']!.rollouts).toBeUndefined();
    expect(resolveFromSnapshot(ended, 'greeter', { unitKey: 'user-1' })!.variant).toBe('base');
  });
});

/** conformance/snapshot.json's rollout vectors, against core. */
interface Get {
  name: string;
  label?: string;
  unitKey?: string | null;
}
interface Vector {
  get: Get;
  expected?: Record<string, unknown>;
  error?: { code: string };
}
interface WireVersion {
  version: number;
  sha: string;
  content: PromptContent;
}

const verified = (name: string, v: WireVersion): SnapshotVersion => {
  if (v.content.name !== name || promptSha(v.content) !== v.sha)
    throw Object.assign(new Error(), { code: 'sha_mismatch' });
  return v;
};

const answer = (snapshot: Snapshot, get: Get): Vector => {
  const found = resolveFromSnapshot(snapshot, get.name, { label: get.label ?? 'production', unitKey: get.unitKey });
  if (found === undefined) return { get, error: { code: 'prompt_not_found' } };
  const { name, version: v, sha, label, variant, rolloutId, shadow } = found;
  const shadowed = shadow && { rolloutId: shadow.rolloutId, version: shadow.version, sha: shadow.sha };
  return { get, expected: { name, version: v, sha, label, source: 'snapshot', variant, rolloutId, shadow: shadowed } };
};

const loaded = (text: string): Snapshot => {
  const raw = JSON.parse(text) as Snapshot;
  for (const [name, prompt] of Object.entries(raw.prompts)) {
    for (const r of Object.values(prompt.rollouts ?? {})) verified(name, r.candidate);
  }
  return raw;
};

const applied = (snapshot: Snapshot, text: string): Snapshot => {
  const event = JSON.parse(text) as { type: string; seq: number; name: string; label: string } & Record<
    string,
    unknown
  >;
  if (event.seq <= snapshot.cursor) return snapshot;
  if (event.type === 'rollout') {
    const r = event['rollout'] as SnapshotRollout | null;
    if (r !== null) verified(event.name, r.candidate);
    return applyRolloutEvent(snapshot, event as unknown as RolloutChangeEvent);
  }
  const moved = verified(event.name, event as unknown as WireVersion);
  const prompt = snapshot.prompts[event.name]!;
  return {
    ...snapshot,
    cursor: event.seq,
    prompts: {
      ...snapshot.prompts,
      [event.name]: {
        ...prompt,
        labels: { ...prompt.labels, [event.label]: moved.sha },
        versions: { ...prompt.versions, [moved.sha]: moved },
      },
    },
  };
};

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('conformance: snapshot.json rollout vectors', () => {
  const file = JSON.parse(readFileSync(`${CONFORMANCE_DIR}snapshot.json`, 'utf8')) as {
    rolloutSequences: {
      name: string;
      snapshot: string;
      cursor: number;
      expect: Vector[];
      steps: { note: string; event: string; cursor: number; expect: Vector[]; error?: { code: string } }[];
    }[];
    invalidRolloutSnapshots: { name: string; snapshot: string; error: { code: string } }[];
  };

  it.each(file.rolloutSequences.map((s) => [s.name, s] as const))('%s', (_, sequence) => {
    let snapshot = loaded(sequence.snapshot);
    expect(snapshot.cursor).toBe(sequence.cursor);
    expect(sequence.expect.map((v) => answer(snapshot, v.get))).toEqual(sequence.expect);
    for (const step of sequence.steps) {
      if (step.error !== undefined)
        expect(
          codeOf(() => applied(snapshot, step.event)),
          step.note,
        ).toBe(step.error.code);
      else snapshot = applied(snapshot, step.event);
      expect(snapshot.cursor, step.note).toBe(step.cursor);
      expect(
        step.expect.map((v) => answer(snapshot, v.get)),
        step.note,
      ).toEqual(step.expect);
    }
  });

  it.each(file.invalidRolloutSnapshots.map((v) => [v.name, v] as const))('refuses: %s', (_, vector) => {
    expect(codeOf(() => loaded(vector.snapshot))).toBe(vector.error.code);
  });
});
