import { describe, expect, it } from 'vitest';
import { alignRecorded, readAuditStory, type StoryEntry } from '../src/index.js';

/** Review events carry no id in their entries: verify pairs them with the entries by content and order. */

const event = (kind: string, actor: string, at: string) => ({ kind, actor, sha: 's', comment: '', at });
const recorded = (seq: number, row: ReturnType<typeof event>) => ({ seq, value: row });

const rows = [event('opened', 'ann', 't1'), event('approved', 'bob', 't2'), event('merged', 'ann', 't3')];
const entries = rows.map((row, index) => recorded(index + 1, row));
/** Each pair as `row kind/entry seq`, `-` for none. */
const shape = (pairs: ReturnType<typeof alignRecorded>): string[] =>
  pairs.map(
    ([row, entry]) => `${row === undefined ? '-' : String((row as { kind: string }).kind)}/${entry?.seq ?? '-'}`,
  );

describe('alignRecorded', () => {
  it('pairs an untouched timeline one for one', () => {
    expect(shape(alignRecorded(rows, entries))).toEqual(['opened/1', 'approved/2', 'merged/3']);
  });

  it('leaves an inserted row alone without shifting the rest', () => {
    const planted = [rows[0]!, event('approved', 'eve', 't2'), rows[1]!, rows[2]!];
    expect(shape(alignRecorded(planted, entries))).toEqual(['opened/1', 'approved/-', 'approved/2', 'merged/3']);
  });

  it('leaves the entry of a deleted row alone', () => {
    expect(shape(alignRecorded([rows[0]!, rows[2]!], entries))).toEqual(['opened/1', '-/2', 'merged/3']);
  });

  it('pairs an edited row with its entry', () => {
    const edited = [rows[0]!, { ...rows[1]!, actor: 'eve' }, rows[2]!];
    expect(shape(alignRecorded(edited, entries))).toEqual(['opened/1', 'approved/2', 'merged/3']);
  });

  it('pairs in order only when the comparison would be too large', () => {
    const many = Array.from({ length: 1001 }, (_, index) => event('approved', `r${index}`, 't'));
    const pairs = alignRecorded(
      many,
      many.slice(1).map((row, index) => recorded(index + 1, row)),
    );
    expect(pairs).toHaveLength(1001);
    expect(pairs[1000]).toEqual([many[1000], undefined]);
  });
});

describe('the review story', () => {
  const entry = (seq: number, action: string, actor: string, data: Record<string, unknown>): StoryEntry => ({
    seq,
    at: `2026-01-0${seq}T00:00:00.000Z`,
    actor,
    action,
    data,
  });
  const common = { changeRequest: 7, name: 'greeter', label: 'production' };

  it("follows a request's state through its entries, and leaves out times older entries lack", () => {
    const story = readAuditStory([
      entry(1, 'version.created', 'ann', { name: 'greeter', version: 1, sha: 'a', parentSha: null }),
      entry(2, 'version.created', 'ann', { name: 'greeter', version: 2, sha: 'b', parentSha: 'a' }),
      entry(3, 'review.opened', 'ann', { ...common, sha: 'b', comment: 'why', version: 2, baseSha: 'a' }),
      entry(4, 'review.approved', 'bob', { ...common, sha: 'b', comment: 'ok' }),
      entry(5, 'review.merged', 'ann', { ...common, sha: 'b', comment: '', deploymentId: 9, updatedAt: 'u' }),
    ]);
    expect(story.changeRequests.get(7)).toEqual({
      seq: 5,
      value: {
        name: 'greeter',
        label: 'production',
        status: 'merged',
        author: 'ann',
        message: 'why',
        sha: 'b',
        version: 2,
        baseSha: 'a',
        baseVersion: 1,
        deploymentId: 9,
        updatedAt: 'u',
      },
    });
    expect(story.reviewEvents.get(7)?.map(({ value }) => [value?.['kind'], value?.['actor']])).toEqual([
      ['opened', 'ann'],
      ['approved', 'bob'],
      ['merged', 'ann'],
    ]);
  });
});
