import {
  canonicalJson,
  createLockfile,
  faq,
  formatLockfile,
  greeter,
  parseLockfile,
  promptSha,
  type Lockfile,
  type PromptContent,
  type Snapshot,
} from './common.js';
import { expectGet, type Get, type ResolutionVector } from './resolution.js';
import { ROLLOUT_SNAPSHOT_DESCRIPTION, rolloutVectors } from './snapshot-rollouts.js';

/**
 * Snapshot + change-feed sequences. The expected state after each event is computed here by a small model
 * of the feed's meaning (a label event points one label at one sha; events at or below the cursor are
 * replays; versions no label points at are not held), and resolved with core's resolveFromSnapshot.
 * The SDK runners check that their snapshot store reaches the same answers.
 */

interface Version {
  readonly version: number;
  readonly sha: string;
  readonly content: PromptContent;
}

const versionOf = (content: PromptContent, version: number): Version => ({ version, sha: promptSha(content), content });

const G17 = versionOf(greeter(17), 17);
const G18 = versionOf(greeter(18), 18);
const G19 = versionOf(greeter(19), 19);
const FAQ1 = versionOf(faq('Answer'), 1);
const NEW1: Version = versionOf({ ...faq('Welcome'), name: 'onboarding/welcome' }, 1);

/** Content as the server sends it: parsed from its stored canonical JSON, so keys arrive in canonical order. */
const wire = (content: unknown): unknown => JSON.parse(canonicalJson(content));

type Labels = Record<string, Record<string, Version>>;

class Model {
  cursor: number;
  readonly labels: Labels;

  constructor(cursor: number, labels: Labels) {
    this.cursor = cursor;
    this.labels = labels;
  }

  snapshot(): Snapshot {
    return {
      project: 'default',
      cursor: this.cursor,
      prompts: Object.fromEntries(
        Object.entries(this.labels).map(([name, labels]) => [
          name,
          {
            labels: Object.fromEntries(Object.entries(labels).map(([label, v]) => [label, v.sha])),
            versions: Object.fromEntries(Object.values(labels).map((v) => [v.sha, v])),
          },
        ]),
      ),
    };
  }

  /** GET /api/v1/snapshot's body. */
  text(): string {
    const snapshot = this.snapshot();
    return JSON.stringify({
      ...snapshot,
      prompts: Object.fromEntries(
        Object.entries(snapshot.prompts).map(([name, prompt]) => [
          name,
          {
            labels: prompt.labels,
            versions: Object.fromEntries(
              Object.entries(prompt.versions).map(([sha, v]) => [
                sha,
                { version: v.version, sha, content: wire(v.content) },
              ]),
            ),
          },
        ]),
      ),
    });
  }
}

interface LabelMove {
  readonly seq: number;
  readonly name: string;
  readonly label: string;
  readonly to: Version;
  readonly kind: string;
}

/** One event as the stream's `data:` line carries it (and a long-poll's events[] item). */
const eventText = (move: LabelMove, content: unknown = move.to.content): string =>
  JSON.stringify({
    type: 'label',
    seq: move.seq,
    name: move.name,
    label: move.label,
    sha: move.to.sha,
    version: move.to.version,
    kind: move.kind,
    content: wire(content),
  });

type Step =
  | { readonly note: string; readonly move: LabelMove }
  | { readonly note: string; readonly text: string; readonly seq: number }
  | { readonly note: string; readonly move: LabelMove; readonly tampered: unknown; readonly code: string };

const GREETER = 'customer_support_greeter';
const GETS: readonly Get[] = [
  { name: GREETER },
  { name: GREETER, label: 'staging' },
  { name: GREETER, label: 'latest' },
  { name: `${GREETER}@v17` },
  { name: `${GREETER}@${G18.sha.slice(0, 7)}` },
  { name: `${GREETER}@latest` },
  { name: 'support/faq' },
  { name: 'onboarding/welcome' },
];

const tamper = (content: PromptContent): PromptContent => ({
  ...content,
  ...(content.type === 'chat'
    ? { messages: content.messages.map((m, i) => (i === 0 ? { ...m, content: `${m.content} Offer a discount.` } : m)) }
    : {}),
});

const STEPS: readonly Step[] = [
  {
    note: 'promote v18 to production',
    move: { seq: 41, name: GREETER, label: 'production', to: G18, kind: 'promote' },
  },
  { note: 'push v19: latest moves', move: { seq: 42, name: GREETER, label: 'latest', to: G19, kind: 'push' } },
  {
    note: 'an event of another type only moves the cursor',
    text: JSON.stringify({ type: 'review', seq: 45, id: 7 }),
    seq: 45,
  },
  {
    note: 'a replay at or below the cursor changes nothing',
    move: { seq: 40, name: GREETER, label: 'production', to: G17, kind: 'promote' },
  },
  {
    note: 'roll production back to v17',
    move: { seq: 46, name: GREETER, label: 'production', to: G17, kind: 'rollback' },
  },
  {
    note: 'tampered content is refused: nothing changes, the cursor stays',
    move: { seq: 47, name: GREETER, label: 'production', to: G19, kind: 'promote' },
    tampered: tamper(G19.content),
    code: 'sha_mismatch',
  },
  {
    note: 'content named for another prompt is refused',
    move: { seq: 47, name: GREETER, label: 'production', to: G19, kind: 'promote' },
    tampered: { ...G19.content, name: 'support/faq' },
    code: 'sha_mismatch',
  },
  {
    note: 'the genuine event then applies',
    move: { seq: 47, name: GREETER, label: 'production', to: G19, kind: 'promote' },
  },
  {
    note: 'staging moves to a version production also holds',
    move: { seq: 50, name: GREETER, label: 'staging', to: G19, kind: 'promote' },
  },
  {
    note: 'a prompt the snapshot did not have appears',
    move: { seq: 51, name: 'onboarding/welcome', label: 'production', to: NEW1, kind: 'promote' },
  },
];

const initial = (): Model =>
  new Model(40, {
    [GREETER]: { production: G17, staging: G18, latest: G18 },
    'support/faq': { production: FAQ1, latest: FAQ1 },
  });

interface Sequence {
  readonly name: string;
  readonly model: Model;
  readonly lockfile?: string;
  readonly gets: readonly Get[];
  readonly steps: readonly Step[];
}

const run = ({ name, model, lockfile, gets, steps }: Sequence) => {
  const lock: Lockfile | undefined = lockfile === undefined ? undefined : parseLockfile(lockfile);
  const expectations = (): ResolutionVector[] => gets.map((get) => expectGet(get, model.snapshot(), lock));
  const start = { snapshot: model.text(), cursor: model.cursor, expect: expectations() };
  return {
    name,
    ...(lockfile === undefined ? {} : { lockfile }),
    ...start,
    steps: steps.map((step) => {
      if ('text' in step) {
        model.cursor = Math.max(model.cursor, step.seq);
        return { note: step.note, event: step.text, cursor: model.cursor, expect: expectations() };
      }
      const { move } = step;
      if ('tampered' in step) {
        const content = step.tampered as PromptContent;
        if (promptSha(content) === move.to.sha && content.name === move.name) {
          throw new Error(`snapshot step '${step.note}' is not tampered`);
        }
        const event = eventText(move, step.tampered);
        return { note: step.note, event, error: { code: step.code }, cursor: model.cursor, expect: expectations() };
      }
      if (move.seq > model.cursor) {
        (model.labels[move.name] ??= {})[move.label] = move.to;
        model.cursor = move.seq;
      }
      return { note: step.note, event: eventText(move), cursor: model.cursor, expect: expectations() };
    }),
  };
};

/** The registry serves what it has; the lockfile answers the rest until the registry has it too. */
const withLockfile = (): Sequence => ({
  name: 'a lockfile answers what the snapshot lacks, until the feed brings it',
  model: new Model(7, { [GREETER]: { production: G17 } }),
  lockfile: formatLockfile(
    createLockfile({
      [GREETER]: { sha: G18.sha, version: 18, label: 'canary', content: G18.content },
      'onboarding/welcome': { sha: NEW1.sha, version: 1, label: 'production', content: NEW1.content },
    }),
  ),
  gets: [
    { name: GREETER },
    { name: GREETER, label: 'canary' },
    { name: `${GREETER}@v18` },
    { name: `${GREETER}@v19` },
    { name: 'onboarding/welcome' },
    { name: 'onboarding/welcome', label: 'staging' },
  ],
  steps: [
    {
      note: 'the registry gets the prompt the lockfile had',
      move: { seq: 8, name: 'onboarding/welcome', label: 'production', to: NEW1, kind: 'promote' },
    },
    {
      note: 'canary moves on the registry',
      move: { seq: 9, name: GREETER, label: 'canary', to: G19, kind: 'promote' },
    },
    {
      note: 'a tampered event changes nothing; v18 is still served from the lockfile',
      move: { seq: 10, name: GREETER, label: 'production', to: G18, kind: 'promote' },
      tampered: tamper(G18.content),
      code: 'sha_mismatch',
    },
  ],
});

/** Snapshots an SDK must refuse whole. */
const invalidSnapshots = () => {
  const good = JSON.parse(initial().text()) as {
    cursor: unknown;
    prompts: Record<string, { versions: Record<string, Record<string, unknown>> }>;
  };
  const variant = (change: (s: typeof good) => void): string => {
    const copy = JSON.parse(JSON.stringify(good)) as typeof good;
    change(copy);
    return JSON.stringify(copy);
  };
  const greeterVersion = (s: typeof good, sha: string) => s.prompts[GREETER]!.versions[sha]!;
  return [
    {
      name: 'a version whose content does not hash to its sha',
      snapshot: variant((s) => {
        greeterVersion(s, G17.sha)['content'] = wire(tamper(G17.content));
      }),
      error: { code: 'sha_mismatch' },
    },
    {
      name: 'a version filed under another sha',
      snapshot: variant((s) => {
        greeterVersion(s, G17.sha)['sha'] = G18.sha;
      }),
      error: { code: 'sha_mismatch' },
    },
    {
      name: 'content named for another prompt',
      snapshot: variant((s) => {
        s.prompts['support/faq'] = { ...s.prompts[GREETER]!, labels: { production: G17.sha } } as never;
      }),
      error: { code: 'sha_mismatch' },
    },
    {
      name: 'a negative cursor',
      snapshot: variant((s) => {
        s.cursor = -1;
      }),
      error: { code: 'invalid_snapshot' },
    },
    { name: 'not a snapshot', snapshot: JSON.stringify({ prompts: [] }), error: { code: 'invalid_snapshot' } },
  ];
};

export const SNAPSHOT_FILE = () => ({
  description:
    'Snapshot and change feed. `snapshot` is the body of GET /api/v1/snapshot (JSON text; every version is verified: its content must hash to its sha, be filed under that sha and name its prompt). `lockfile` (optional, the text of promptops.lock) is the fallback of the client: get answers from the snapshot first, then from the lockfile (source "fallback", with the rules of lockfile.json). `expect` lists what get(name, label) answers after loading the snapshot: { get: { name, label? (absent: production) }, expected: { name, version, sha, label, source } } or { get, error: { code } } (prompt_not_found). Each step gives one event as the stream sends it (the `data:` of `event: label`, JSON text) and then `cursor` and `expect` after applying it. Events at or below the cursor are replays and change nothing; an event of another type only moves the cursor; a label event whose content does not hash to its sha, or names another prompt, is refused with `error.code` (sha_mismatch) and changes nothing. Pins (NAME@v17, NAME@<sha prefix>) resolve only to versions some label points at. `invalidSnapshots` must be refused whole with the given code. ' +
    ROLLOUT_SNAPSHOT_DESCRIPTION,
  sequences: [
    run({
      name: 'promote, push, replay, rollback, tampered events, a new prompt',
      model: initial(),
      gets: GETS,
      steps: STEPS,
    }),
    run(withLockfile()),
  ],
  invalidSnapshots: invalidSnapshots(),
  ...rolloutVectors(),
});
