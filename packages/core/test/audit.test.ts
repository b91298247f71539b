import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  auditHash,
  canonicalJson,
  verifyChain,
  type AuditEntry,
  type ChainProblem,
} from '../src/index.js';
import { jsonValueArb } from './arbitraries.js';

type Entry = Omit<AuditEntry, 'data'> & { data: Record<string, unknown> };

interface Event {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly data: Record<string, unknown>;
}

/** Builds a chain the way the server appends to it: seq from 1, each entry linked to the one before. */
const buildChain = (events: readonly Event[]): Entry[] => {
  const entries: Entry[] = [];
  let prevHash = GENESIS_HASH;
  events.forEach((event, index) => {
    const fields = {
      seq: index + 1,
      at: `2025-01-01T00:00:${String(index).padStart(2, '0')}.000Z`,
      ...event,
      prevHash,
    };
    const hash = auditHash(fields);
    entries.push({ ...fields, hash });
    prevHash = hash;
  });
  return entries;
};

const STORY: Event[] = [
  {
    actor: 'alice',
    action: 'prompt.push',
    target: 'customer_support_greeter',
    data: { version: 17, sha: 'a'.repeat(64) },
  },
  { actor: 'alice', action: 'label.promote', target: 'customer_support_greeter@production', data: { to: 17 } },
  {
    actor: 'bob',
    action: 'prompt.push',
    target: 'customer_support_greeter',
    data: { version: 18, sha: 'b'.repeat(64) },
  },
  {
    actor: 'bob',
    action: 'label.promote',
    target: 'customer_support_greeter@production',
    data: { to: 18, reason: 'wording fix' },
  },
  { actor: 'carol', action: 'label.rollback', target: 'customer_support_greeter@production', data: { to: 17 } },
];

const eventArb: fc.Arbitrary<Event> = fc.record({
  actor: fc.constantFrom('alice', 'bob', 'ci-bot'),
  action: fc.constantFrom('prompt.push', 'label.promote', 'label.rollback', 'key.create'),
  target: fc.string({ maxLength: 12 }),
  data: fc.dictionary(
    fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
    jsonValueArb,
    { maxKeys: 3, noNullPrototype: true },
  ),
});

const kinds = (problems: readonly ChainProblem[]): string[] => problems.map((p) => `${p.seq}:${p.problem}`);

describe('auditHash', () => {
  it('is sha256 of the canonical JSON of the seven fields', () => {
    const fields = {
      seq: 1,
      at: 't',
      actor: 'a',
      action: 'x',
      target: 'y',
      data: { b: 1, a: 2 },
      prevHash: GENESIS_HASH,
    };
    const expected = createHash('sha256')
      .update(
        `{"action":"x","actor":"a","at":"t","data":{"a":2,"b":1},"prevHash":"${GENESIS_HASH}","seq":1,"target":"y"}`,
        'utf8',
      )
      .digest('hex');
    expect(auditHash(fields)).toBe(expected);
    expect(canonicalJson(fields)).toContain('"data":{"a":2,"b":1}');
  });

  it('ignores the stored hash and any extra field, and the key order of data', () => {
    const [entry] = buildChain(STORY.slice(0, 1));
    const withExtra = { ...entry!, hash: 'f'.repeat(64), id: 99 } as Entry;
    expect(auditHash(withExtra)).toBe(entry!.hash);
    expect(auditHash({ ...entry!, data: { sha: 'a'.repeat(64), version: 17 } })).toBe(entry!.hash);
  });

  it('links the first entry to the genesis hash', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(buildChain(STORY)[0]!.prevHash).toBe(GENESIS_HASH);
  });
});

describe('verifyChain', () => {
  it('finds nothing wrong with an untouched chain, of any length', () => {
    expect(verifyChain([])).toEqual([]);
    expect(verifyChain(buildChain(STORY))).toEqual([]);
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 12 }), (events) => {
        expect(verifyChain(buildChain(events))).toEqual([]);
      }),
    );
  });

  it.each<[keyof Entry, unknown]>([
    ['at', '2025-01-01T00:00:02.001Z'],
    ['actor', 'mallory'],
    ['action', 'label.rollback'],
    ['target', 'customer_support_greeter@staging'],
    ['data', { version: 18, sha: 'b'.repeat(63) + 'c' }],
  ])('reports an altered %s as a hash mismatch at that entry only', (field, value) => {
    const chain = buildChain(STORY);
    chain[2] = { ...chain[2]!, [field]: value };
    const problems = verifyChain(chain);
    expect(kinds(problems)).toEqual(['3:hash_mismatch']);
    expect(problems[0]!.message).toContain('#3');
    expect(problems[0]!.message).toMatch(/altered/);
  });

  it('reports an altered hash as a mismatch there and a broken link after it', () => {
    const chain = buildChain(STORY);
    chain[1] = { ...chain[1]!, hash: 'f'.repeat(64) };
    expect(kinds(verifyChain(chain))).toEqual(['2:hash_mismatch', '3:broken_link']);
  });

  it('reports an altered prevHash as a broken link and a hash mismatch', () => {
    const chain = buildChain(STORY);
    chain[3] = { ...chain[3]!, prevHash: GENESIS_HASH };
    expect(kinds(verifyChain(chain))).toEqual(['4:broken_link', '4:hash_mismatch']);
  });

  it('reports an altered seq as a gap and a hash mismatch', () => {
    const chain = buildChain(STORY);
    chain[1] = { ...chain[1]!, seq: 7 };
    const problems = verifyChain(chain);
    expect(kinds(problems)).toEqual(['7:gap', '7:hash_mismatch', '3:gap']);
  });

  it('catches an entry re-hashed after editing: the next entry no longer links to it', () => {
    const chain = buildChain(STORY);
    const edited = { ...chain[1]!, data: { to: 18 } };
    chain[1] = { ...edited, hash: auditHash(edited) };
    expect(kinds(verifyChain(chain))).toEqual(['3:broken_link']);
  });

  it('reports a deleted entry as a gap and a broken link at the entry after it', () => {
    const chain = buildChain(STORY);
    const withoutThird = [...chain.slice(0, 2), ...chain.slice(3)];
    const problems = verifyChain(withoutThird);
    expect(kinds(problems)).toEqual(['4:gap', '4:broken_link']);
    expect(problems[0]!.message).toBe('audit entry #3 is missing (next is #4)');
    expect(kinds(verifyChain(chain.slice(1)))).toEqual(['2:gap', '2:broken_link']);
  });

  it('reports reordered entries at each moved entry, as out of order and unlinked', () => {
    const chain = buildChain(STORY);
    const swapped = [chain[0]!, chain[2]!, chain[1]!, chain[3]!, chain[4]!];
    const problems = verifyChain(swapped);
    expect(kinds(problems)).toEqual(['3:gap', '3:broken_link', '2:gap', '2:broken_link', '4:gap', '4:broken_link']);
    expect(problems.find((p) => p.seq === 2 && p.problem === 'gap')!.message).toBe(
      'audit entry #2 is out of order or repeated (expected #4)',
    );
  });

  it('reports a repeated entry at the copy', () => {
    const chain = buildChain(STORY);
    const problems = verifyChain([...chain.slice(0, 3), chain[2]!, ...chain.slice(3)]);
    // The copy has the same hash as the original, so the entry after it still links.
    expect(kinds(problems)).toEqual(['3:gap', '3:broken_link']);
    expect(problems[0]!.message).toBe('audit entry #3 is out of order or repeated (expected #4)');
  });

  it('cannot see a deleted tail: only an anchor outside the chain can (documented limit)', () => {
    expect(verifyChain(buildChain(STORY).slice(0, 3))).toEqual([]);
  });

  it('finds any single altered field of any entry, at that entry', () => {
    const fieldArb = fc.constantFrom<'at' | 'actor' | 'action' | 'target' | 'data'>(
      'at',
      'actor',
      'action',
      'target',
      'data',
    );
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 8 }), fc.nat(), fieldArb, (events, pick, field) => {
        const chain = buildChain(events);
        const index = pick % chain.length;
        const entry = chain[index]!;
        const altered = field === 'data' ? { ...entry.data, tampered: true } : `${entry[field]}!`;
        chain[index] = { ...entry, [field]: altered };
        expect(kinds(verifyChain(chain))).toEqual([`${index + 1}:hash_mismatch`]);
      }),
    );
  });

  it('finds any deleted entry but the last, at the entry after it', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 2, maxLength: 8 }), fc.nat(), (events, pick) => {
        const chain = buildChain(events);
        const index = pick % (chain.length - 1);
        chain.splice(index, 1);
        expect(kinds(verifyChain(chain))).toEqual([`${index + 2}:gap`, `${index + 2}:broken_link`]);
      }),
    );
  });

  it('finds any swap of two neighbours', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 2, maxLength: 8 }), fc.nat(), (events, pick) => {
        const chain = buildChain(events);
        const index = pick % (chain.length - 1);
        [chain[index], chain[index + 1]] = [chain[index + 1]!, chain[index]!];
        const problems = verifyChain(chain);
        const bySeq = new Set(problems.filter((p) => p.problem === 'broken_link').map((p) => p.seq));
        expect(bySeq.has(index + 1)).toBe(true);
        expect(bySeq.has(index + 2)).toBe(true);
        expect(problems.some((p) => p.problem === 'gap')).toBe(true);
        expect(problems.some((p) => p.problem === 'hash_mismatch')).toBe(false);
      }),
    );
  });
});
