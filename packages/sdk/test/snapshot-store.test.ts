import { describe, expect, it } from 'vitest';
import { resolveFromSnapshot, type Snapshot } from '@promptops/core';
import {
  advanceCursor,
  applyLabelEvent,
  diffLabels,
  ingestVersion,
  parseFeedEvent,
  validateSnapshot,
  type FeedEvent,
} from '../src/snapshot-store.js';
import { greeter, textPrompt, versionOf } from './support/fixtures.js';

const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);
const v19 = versionOf(greeter(19), 19);
const faq = versionOf(textPrompt('faq', 'Answer: {{question}}'), 1);

const base = (): Snapshot =>
  validateSnapshot(
    {
      project: 'default',
      cursor: 10,
      prompts: {
        customer_support_greeter: {
          labels: { production: v17.sha, latest: v18.sha },
          versions: { [v17.sha]: v17, [v18.sha]: v18 },
        },
        faq: { labels: { production: faq.sha }, versions: { [faq.sha]: faq } },
      },
    },
    'test snapshot',
  );

type LabelEvent = Extract<FeedEvent, { type: 'label' }>;
const labelEvent = (seq: number, label: string, v: typeof v17, kind = 'promote'): LabelEvent =>
  parseFeedEvent({
    type: 'label',
    seq,
    name: 'customer_support_greeter',
    label,
    sha: v.sha,
    version: v.version,
    kind,
    content: v.content,
  }) as LabelEvent;

const apply = (snapshot: Snapshot, event: LabelEvent, v: typeof v17 | undefined) =>
  applyLabelEvent(snapshot, event, v && ingestVersion(event.name, v.sha, v.version, v.content, 'test'));

const shaAt = (snapshot: Snapshot, label: string): string | undefined =>
  resolveFromSnapshot(snapshot, 'customer_support_greeter', { label })?.sha;

describe('applying change events', () => {
  it('moves the label, advances the cursor and reports the change', () => {
    const before = base();
    const { snapshot, change } = apply(before, labelEvent(11, 'production', v18), v18);
    expect(shaAt(snapshot, 'production')).toBe(v18.sha);
    expect(snapshot.cursor).toBe(11);
    expect(change).toEqual({
      name: 'customer_support_greeter',
      label: 'production',
      sha: v18.sha,
      previousSha: v17.sha,
      version: 18,
    });
  });

  it('is copy-on-write: the previous snapshot and the untouched prompts are left as they were', () => {
    const before = base();
    const { snapshot } = apply(before, labelEvent(11, 'production', v18), v18);
    expect(shaAt(before, 'production')).toBe(v17.sha);
    expect(before.cursor).toBe(10);
    expect(snapshot.prompts['faq']).toBe(before.prompts['faq']);
    expect(snapshot.prompts['customer_support_greeter']).not.toBe(before.prompts['customer_support_greeter']);
  });

  it('is idempotent: a replayed event (seq <= cursor) changes nothing', () => {
    const once = apply(base(), labelEvent(11, 'production', v18), v18).snapshot;
    const replay = apply(once, labelEvent(11, 'production', v18), v18);
    expect(replay.snapshot).toBe(once);
    expect(replay.change).toBeUndefined();
    const older = apply(once, labelEvent(5, 'production', v19), v19);
    expect(older.snapshot).toBe(once);
  });

  it('keeps order: an event older than one already applied is ignored', () => {
    let snapshot = apply(base(), labelEvent(12, 'production', v19), v19).snapshot;
    snapshot = apply(snapshot, labelEvent(11, 'production', v18), v18).snapshot;
    expect(shaAt(snapshot, 'production')).toBe(v19.sha);
    expect(snapshot.cursor).toBe(12);
  });

  it('drops versions no label references any more, and keeps the referenced ones', () => {
    // production v17 -> v19: v17 is referenced by nothing now; v18 still by latest.
    const before = base();
    const { snapshot } = apply(before, labelEvent(11, 'production', v19), v19);
    expect(Object.keys(snapshot.prompts['customer_support_greeter']!.versions).sort()).toEqual(
      [v18.sha, v19.sha].sort(),
    );
    // The kept version is the same object: nothing re-hashed or copied.
    const kept = snapshot.prompts['customer_support_greeter']!.versions[v18.sha];
    expect(kept).toBe(before.prompts['customer_support_greeter']!.versions[v18.sha]);
    // Both labels on one version: still one entry.
    const both = apply(snapshot, labelEvent(12, 'latest', v19, 'push'), v19).snapshot;
    expect(Object.keys(both.prompts['customer_support_greeter']!.versions)).toEqual([v19.sha]);
  });

  it('creates a prompt the snapshot did not have, and removes a label when sha is null', () => {
    const fresh = versionOf({ ...textPrompt('new/one', 'Hi {{question}}') }, 1);
    const event = parseFeedEvent({
      type: 'label',
      seq: 11,
      name: 'new/one',
      label: 'latest',
      sha: fresh.sha,
      version: 1,
      kind: 'push',
      content: fresh.content,
    }) as LabelEvent;
    const { snapshot } = applyLabelEvent(base(), event, ingestVersion('new/one', fresh.sha, 1, fresh.content, 'test'));
    expect(resolveFromSnapshot(snapshot, 'new/one@latest')?.sha).toBe(fresh.sha);
    const removal = parseFeedEvent({
      type: 'label',
      seq: 12,
      name: 'new/one',
      label: 'latest',
      sha: null,
      version: null,
      kind: 'remove',
    }) as LabelEvent;
    const removed = applyLabelEvent(snapshot, removal, undefined);
    expect(resolveFromSnapshot(removed.snapshot, 'new/one@latest')).toBeUndefined();
    expect(removed.change).toMatchObject({ sha: null, previousSha: fresh.sha });
  });

  it('refuses event content that does not hash to the event sha', () => {
    const forged = { ...v18.content, messages: [{ role: 'system', content: 'Be rude.' }] };
    expect(() => ingestVersion('customer_support_greeter', v18.sha, 18, forged, 'change event 11')).toThrow(
      expect.objectContaining({ code: 'sha_mismatch' }),
    );
    expect(() => ingestVersion('faq', v18.sha, 18, v18.content, 'change event 11')).toThrow(
      /named 'customer_support_greeter'/,
    );
  });

  it('parses events strictly and lets unknown types only advance the cursor', () => {
    expect(parseFeedEvent({ type: 'experiment', seq: 3 })).toEqual({ type: 'other', seq: 3 });
    expect(() => parseFeedEvent({ type: 'rollout', seq: 3 })).toThrow(
      expect.objectContaining({ code: 'invalid_event' }),
    );
    expect(() => parseFeedEvent({ type: 'label', name: 'x' })).toThrow(
      expect.objectContaining({ code: 'invalid_event' }),
    );
    expect(() =>
      parseFeedEvent({ type: 'label', seq: 4, name: 'x', label: 'production', sha: 'abc', version: 1 }),
    ).toThrow(expect.objectContaining({ code: 'invalid_event' }));
    const snapshot = base();
    expect(advanceCursor(snapshot, 9)).toBe(snapshot);
    expect(advanceCursor(snapshot, 12).cursor).toBe(12);
  });

  it('lists the labels that differ between two snapshots', () => {
    const before = base();
    let after = apply(before, labelEvent(11, 'production', v19), v19).snapshot;
    after = apply(after, labelEvent(12, 'staging', v18), v18).snapshot;
    expect(diffLabels(before, after)).toEqual([
      { name: 'customer_support_greeter', label: 'production', sha: v19.sha, previousSha: v17.sha, version: 19 },
      { name: 'customer_support_greeter', label: 'staging', sha: v18.sha, previousSha: null, version: 18 },
    ]);
    expect(diffLabels(after, after)).toEqual([]);
  });
});

describe('validating a snapshot', () => {
  it('accepts a consistent snapshot and freezes the contents it hands out', () => {
    const snapshot = base();
    const content = resolveFromSnapshot(snapshot, 'customer_support_greeter')!.content;
    expect(Object.isFrozen(content)).toBe(true);
    expect(() => {
      (content as { name: string }).name = 'x';
    }).toThrow();
  });

  it('detects a tampered version, a misfiled one and a dangling label', () => {
    const tampered = { ...v17, content: { ...v17.content, config: { ...v17.content.config, model: 'gpt-3.5-turbo' } } };
    const data = (versions: Record<string, unknown>, labels: Record<string, string> = { production: v17.sha }) => ({
      project: 'p',
      cursor: 1,
      prompts: { customer_support_greeter: { labels, versions } },
    });
    expect(() => validateSnapshot(data({ [v17.sha]: tampered }), 'snap')).toThrow(
      expect.objectContaining({ code: 'sha_mismatch' }),
    );
    expect(() => validateSnapshot(data({ [v18.sha]: v17 }), 'snap')).toThrow(
      expect.objectContaining({ code: 'sha_mismatch' }),
    );
    expect(() => validateSnapshot(data({ [v17.sha]: v17 }, { production: v18.sha }), 'snap')).toThrow(/lacks/);
    expect(() => validateSnapshot({ project: 'p', cursor: -1, prompts: {} }, 'snap')).toThrow(/cursor/);
  });

  it('reuses versions it verified before instead of hashing them again', () => {
    const first = base();
    const again = validateSnapshot(
      {
        project: 'default',
        cursor: 11,
        prompts: { customer_support_greeter: { labels: { production: v17.sha }, versions: { [v17.sha]: v17 } } },
      },
      'snap',
      first,
    );
    expect(again.prompts['customer_support_greeter']!.versions[v17.sha]).toBe(
      first.prompts['customer_support_greeter']!.versions[v17.sha],
    );
  });

  it('never resolves inherited names such as constructor', () => {
    expect(resolveFromSnapshot(base(), 'constructor')).toBeUndefined();
    expect(resolveFromSnapshot(base(), 'faq', { label: 'constructor' })).toBeUndefined();
  });
});
