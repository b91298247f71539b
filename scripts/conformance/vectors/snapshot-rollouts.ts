import {
  canonicalJson,
  greeter,
  promptSha,
  resolveFromSnapshot,
  type PromptContent,
  type Snapshot,
  type SnapshotRollout,
  type SnapshotVersion,
} from './common.js';

/**
 * Rollout sequences: a snapshot whose labels may be under a rollout, then `event: rollout` and
 * `event: label` messages, and what `get(name, { label, unitKey })` answers after each. Expectations are
 * core's resolveFromSnapshot over a small model (a rollout event sets or clears one label's rollout; a
 * label event points one label at one sha and leaves its rollout as it is).
 */

const GREETER = 'customer_support_greeter';

const versionOf = (revision: 17 | 18 | 19): SnapshotVersion => {
  const content = greeter(revision);
  return { version: revision, sha: promptSha(content), content };
};
const G17 = versionOf(17);
const G18 = versionOf(18);
const G19 = versionOf(19);

const wire = (content: unknown): unknown => JSON.parse(canonicalJson(content));
const wireVersion = (v: SnapshotVersion) => ({ version: v.version, sha: v.sha, content: wire(v.content) });
const wireRollout = (r: SnapshotRollout) => ({ ...r, candidate: wireVersion(r.candidate) });

interface Get {
  readonly name: string;
  readonly label?: string;
  readonly unitKey?: string | null;
}

interface Model {
  cursor: number;
  labels: Record<string, SnapshotVersion>;
  rollouts: Record<string, SnapshotRollout>;
}

const snapshotOf = (m: Model): Snapshot => ({
  project: 'default',
  cursor: m.cursor,
  prompts: {
    [GREETER]: {
      labels: Object.fromEntries(Object.entries(m.labels).map(([label, v]) => [label, v.sha])),
      versions: Object.fromEntries(Object.values(m.labels).map((v) => [v.sha, v])),
      ...(Object.keys(m.rollouts).length > 0 ? { rollouts: { ...m.rollouts } } : {}),
    },
  },
});

const textOf = (m: Model): string => {
  const prompt = snapshotOf(m).prompts[GREETER]!;
  return JSON.stringify({
    project: 'default',
    cursor: m.cursor,
    prompts: {
      [GREETER]: {
        labels: prompt.labels,
        versions: Object.fromEntries(Object.entries(prompt.versions).map(([sha, v]) => [sha, wireVersion(v)])),
        ...(prompt.rollouts === undefined
          ? {}
          : { rollouts: Object.fromEntries(Object.entries(prompt.rollouts).map(([l, r]) => [l, wireRollout(r)])) }),
      },
    },
  });
};

const UNITS: readonly (string | null)[] = ['user-1', 'user-2', 'user-3', 'user-7', 'José', '田中太郎', '', null];
const pinnedGets: readonly Get[] = [
  { name: `${GREETER}@v17`, unitKey: 'user-1' },
  { name: `${GREETER}@${G18.sha.slice(0, 7)}`, unitKey: 'user-1' },
];

const gets = (labels: readonly string[]): Get[] => [
  ...labels.flatMap((label) => UNITS.map((unitKey) => ({ name: GREETER, label, unitKey }))),
  { name: GREETER },
  { name: `${GREETER}@staging`, unitKey: 'user-2' },
  ...pinnedGets,
];

const expectations = (m: Model, list: readonly Get[]) =>
  list.map((get) => {
    const found = resolveFromSnapshot(snapshotOf(m), get.name, {
      label: get.label ?? 'production',
      unitKey: get.unitKey,
    });
    if (found === undefined) return { get, error: { code: 'prompt_not_found' } };
    return {
      get,
      expected: {
        name: found.name,
        version: found.version,
        sha: found.sha,
        label: found.label,
        source: 'snapshot',
        variant: found.variant,
        rolloutId: found.rolloutId,
        shadow:
          found.shadow === null
            ? null
            : { rolloutId: found.shadow.rolloutId, version: found.shadow.version, sha: found.shadow.sha },
      },
    };
  });

const split = (ramp: number, state: SnapshotRollout['state'] = 'running'): SnapshotRollout => ({
  id: 'ro_abcdefghijkm',
  salt: 'ro_abcdefghijkm',
  mode: 'split',
  state,
  ramp,
  candidate: G18,
});
const shadow: SnapshotRollout = {
  id: 'ro_shadowshadow',
  salt: 'ro_shadowshadow',
  mode: 'shadow',
  state: 'running',
  ramp: 50,
  candidate: G19,
};

type Step =
  | { readonly note: string; readonly seq: number; readonly label: string; readonly rollout: SnapshotRollout | null }
  | { readonly note: string; readonly seq: number; readonly label: string; readonly move: SnapshotVersion }
  | {
      readonly note: string;
      readonly seq: number;
      readonly label: string;
      readonly rollout: SnapshotRollout;
      readonly tampered: PromptContent;
    };

const STEPS: readonly Step[] = [
  { note: 'a split rollout starts at 5 % on production', seq: 11, label: 'production', rollout: split(5) },
  { note: 'it steps to 50 %: units only join the candidate', seq: 12, label: 'production', rollout: split(50) },
  {
    note: 'paused: it holds its ramp, units keep their arm',
    seq: 13,
    label: 'production',
    rollout: split(50, 'paused'),
  },
  { note: 'a replay at or below the cursor changes nothing', seq: 11, label: 'production', rollout: split(5) },
  { note: 'a shadow rollout on staging copies half the calls', seq: 14, label: 'staging', rollout: shadow },
  {
    note: 'a rollout event with tampered candidate content is refused',
    seq: 15,
    label: 'production',
    rollout: split(100),
    tampered: { ...G18.content, name: 'support/faq' },
  },
  {
    note: 'resumed at 100 %: every unit with a key is served the candidate',
    seq: 15,
    label: 'production',
    rollout: split(100),
  },
  { note: 'the shadow rollout is aborted: staging serves its label only', seq: 16, label: 'staging', rollout: null },
  { note: 'completion: production moves to the candidate', seq: 17, label: 'production', move: G18 },
  { note: 'and its rollout ends', seq: 18, label: 'production', rollout: null },
];

const eventText = (step: Step): string =>
  'move' in step
    ? JSON.stringify({
        type: 'label',
        seq: step.seq,
        name: GREETER,
        label: step.label,
        sha: step.move.sha,
        version: step.move.version,
        kind: 'rollout',
        content: wire(step.move.content),
      })
    : JSON.stringify({
        type: 'rollout',
        seq: step.seq,
        name: GREETER,
        label: step.label,
        rollout:
          step.rollout === null
            ? null
            : 'tampered' in step
              ? wireRollout({ ...step.rollout, candidate: { ...step.rollout.candidate, content: step.tampered } })
              : wireRollout(step.rollout),
      });

const sequence = () => {
  const m: Model = { cursor: 10, labels: { production: G17, staging: G17 }, rollouts: {} };
  const list = gets(['production', 'staging']);
  const start = { snapshot: textOf(m), cursor: m.cursor, expect: expectations(m, list) };
  const steps = STEPS.map((step) => {
    if ('tampered' in step) {
      return {
        note: step.note,
        event: eventText(step),
        error: { code: 'sha_mismatch' },
        cursor: m.cursor,
        expect: expectations(m, list),
      };
    }
    if (step.seq > m.cursor) {
      if ('move' in step) m.labels[step.label] = step.move;
      else if (step.rollout === null) delete m.rollouts[step.label];
      else m.rollouts[step.label] = step.rollout;
      m.cursor = step.seq;
    }
    return { note: step.note, event: eventText(step), cursor: m.cursor, expect: expectations(m, list) };
  });
  return { name: 'split and shadow rollouts: start, step, pause, abort, complete', ...start, steps };
};

/** The vectors must show both arms, or they would pass an implementation that ignores rollouts. */
const checked = <T extends { steps: { expect: { expected?: { variant: string } }[] }[] }>(s: T): T => {
  const variants = new Set(s.steps.flatMap((step) => step.expect.map((e) => e.expected?.variant)));
  if (!variants.has('candidate') || !variants.has('baseline')) throw new Error('rollout vectors lack an arm');
  return s;
};

/** A snapshot whose rollout candidate is not what its sha says must be refused whole. */
const invalid = () => {
  const m: Model = { cursor: 10, labels: { production: G17 }, rollouts: { production: split(5) } };
  const good = JSON.parse(textOf(m)) as {
    prompts: Record<string, { rollouts: Record<string, { candidate: Record<string, unknown> }> }>;
  };
  const change = (edit: (c: Record<string, unknown>) => void): string => {
    const copy = JSON.parse(JSON.stringify(good)) as typeof good;
    edit(copy.prompts[GREETER]!.rollouts['production']!.candidate);
    return JSON.stringify(copy);
  };
  return [
    {
      name: 'a rollout candidate whose content does not hash to its sha',
      snapshot: change((c) => {
        c['sha'] = G19.sha;
      }),
      error: { code: 'sha_mismatch' },
    },
    {
      name: 'a rollout candidate named for another prompt',
      snapshot: change((c) => {
        c['content'] = { ...(c['content'] as object), name: 'support/faq' };
      }),
      error: { code: 'sha_mismatch' },
    },
  ];
};

export const ROLLOUT_SNAPSHOT_DESCRIPTION =
  '`rolloutSequences`: like `sequences`, with rollouts. A prompt in the snapshot may carry `rollouts` (label -> { id, salt, mode: shadow|split, state: running|paused, ramp, candidate: { version, sha, content } }, the candidate verified like any version); events may be `event: rollout` ({ type, seq, name, label, rollout | null }: null means the label has no active rollout any more). Each `get` has a `unitKey` (absent, null or "" is none) and `expected` adds `variant` (base: no rollout; baseline or candidate), `rolloutId` and `shadow` ({ rolloutId, version, sha } of the candidate a shadow rollout copies this call to, or null). Split: the candidate when the unit has a key and assignment.json puts it in the candidate at the ramp; shadow: the baseline answers, `shadow` set when the unit is in the ramp (no key: only at 100). Pins by version or sha ignore rollouts. `invalidRolloutSnapshots` must be refused whole.';

export const rolloutVectors = () => ({
  rolloutSequences: [checked(sequence())],
  invalidRolloutSnapshots: invalid(),
});
