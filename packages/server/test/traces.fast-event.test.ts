import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedEvent } from '../src/traces/fast-event.js';
import { MAX_ERROR_LENGTH, MAX_EVENT_ID_LENGTH, MAX_OUTPUT_LENGTH, MAX_SHORT_TEXT } from '../src/traces/limits.js';
import { ingestEventSchema, parseEvent, parseEventWithZod } from '../src/traces/schemas.js';

/**
 * Differential test of the ingest fast path against the zod schema it shortcuts: on generated events,
 * valid and invalid field by field (with the boundaries of every limit), both must agree on accept or
 * reject, and an accepted event must map to the same storage row either way.
 */

const NOW = Date.UTC(2025, 5, 1);

/** Values any field may get: wrong types and the usual suspects. */
const junk = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, Number.NaN, Infinity, -Infinity, '', [], {}, -0),
  fc.string({ maxLength: 5 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.double(),
);

const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const text = (alphabet: string, min: number, max: number) =>
  fc.string({ unit: chars(alphabet), minLength: min, maxLength: max });
const HEX = '0123456789abcdefABCDEF';
/** Strings around a length limit: 0, 1, limit - 1, limit, limit + 1. */
const around = (limit: number, unit = 'x') =>
  fc.constantFrom(0, 1, limit - 1, limit, limit + 1).map((n) => unit.repeat(Math.max(0, n)));
const hex = (length: number) =>
  fc.oneof(
    text(HEX, length, length),
    text(HEX, length - 1, length - 1),
    text(HEX, length + 1, length + 1),
    text(`${HEX}xg `, length, length),
  );
const int = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(1e9, 1e9 + 1, 86_400_000, 86_400_001, 1e6, 1e6 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, -0),
  fc.double({ noNaN: false }),
);

/** Sometimes absent, sometimes undefined, mostly the given arbitrary, sometimes junk. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: junk },
  );

const prompt = fc.record(
  {
    name: field(
      fc.oneof(
        fc.constantFrom('greeter', 'a', 'team/greeter', 'Greeter', '/x', 'a//b', 'a.b-c_d', ''),
        around(MAX_SHORT_TEXT, 'a'),
        fc.string({ maxLength: 8 }),
      ),
    ),
    version: field(int),
    sha: field(hex(64)),
    effectiveSha: field(hex(64)),
  },
  { requiredKeys: [] },
);

const isoTime = fc.oneof(
  fc.date({ min: new Date(Date.UTC(1990, 0, 1)), max: new Date(NOW + 3 * 86_400_000), noInvalidDate: true }).map((d) =>
    d.toISOString(),
  ),
  fc.constantFrom(
    '2025-01-31T12:00:00Z',
    '2025-01-31T12:00Z',
    '2025-01-31T12:00:00.123+02:00',
    '2025-13-45T99:99Z',
    '2025-01-31 12:00:00Z',
    '2025-01-31T12:00:00',
    'yesterday',
  ),
);

const event = fc.record(
  {
    id: field(fc.oneof(text('abc-_:!~ \t\u00e9', 0, 6), around(MAX_EVENT_ID_LENGTH), fc.string({ maxLength: 4 }))),
    traceId: field(hex(32)),
    spanId: field(hex(16)),
    parentSpanId: field(hex(16)),
    prompt: field(prompt),
    label: field(fc.oneof(fc.constantFrom('production', 'a', 'A', '1a', 'b-c_d', ''), around(63, 'a'), around(64, 'a'))),
    tenant: field(around(MAX_SHORT_TEXT)),
    rollout: field(fc.record({ id: field(around(MAX_SHORT_TEXT)), arm: field(around(3)) }, { requiredKeys: [] })),
    releaseSha: field(fc.oneof(text(HEX, 6, 8), text(HEX, 63, 65), text('0123456789abcdefz', 7, 9))),
    variables: field(fc.jsonValue({ maxDepth: 2 })),
    output: field(around(MAX_OUTPUT_LENGTH)),
    model: field(around(MAX_SHORT_TEXT)),
    provider: field(around(MAX_SHORT_TEXT)),
    latencyMs: field(int),
    usage: field(fc.record({ inputTokens: field(int), outputTokens: field(int) }, { requiredKeys: [] })),
    cost: field(int),
    status: field(fc.constantFrom('ok', 'error', 'OK', '')),
    error: field(around(MAX_ERROR_LENGTH)),
    attributes: field(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
    startedAt: field(fc.oneof(isoTime, fc.integer({ min: 0, max: NOW + 3 * 86_400_000 }), int)),
    unknownField: field(fc.string()),
  },
  { requiredKeys: [] },
);

/** Mostly-valid events, so the "accept" side is exercised as much as the "reject" side. */
const validEvent = fc.record(
  {
    id: text('abcXYZ019-_:.', 1, 20),
    traceId: text(HEX, 32, 32),
    prompt: fc.record({ name: fc.constantFrom('greeter', 'team/greeter'), version: fc.nat(), sha: text(HEX, 64, 64) }),
    label: fc.constantFrom('production', 'staging'),
    tenant: text('abc', 1, 10),
    latencyMs: fc.double({ min: 0, max: 86_400_000, noNaN: true }),
    usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }),
    cost: fc.double({ min: 0, max: 1e6, noNaN: true }),
    status: fc.constantFrom('ok', 'error'),
    startedAt: fc.oneof(fc.integer({ min: Date.UTC(2000, 0, 1), max: NOW }), isoTime),
    variables: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    attributes: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
  },
  { requiredKeys: ['id', 'startedAt'] },
);

const agree = (input: unknown): void => {
  const zodAccepts = ingestEventSchema.safeParse(input).success;
  expect(isWellFormedEvent(input)).toBe(zodAccepts);
  // The whole parse, fast path included, maps to the same row or the same verdict as zod alone.
  const fast = parseEvent(input, NOW);
  const slow = parseEventWithZod(input, NOW);
  expect(fast.ok).toBe(slow.ok);
  if (fast.ok && slow.ok) expect(fast).toEqual(slow);
};

describe('ingest fast path vs the zod schema', () => {
  it('agrees on generated events, valid and invalid field by field', () => {
    fc.assert(fc.property(event, agree), { numRuns: 5000 });
  });

  it('agrees on mostly-valid events, and maps them to the same rows', () => {
    fc.assert(fc.property(validEvent, agree), { numRuns: 2000 });
  });

  it('agrees on non-objects and hostile shapes', () => {
    const hostile = JSON.parse('{"id":"h1","startedAt":1700000000000,"__proto__":{"id":"x"}}') as unknown;
    for (const input of [
      null,
      undefined,
      'event',
      42,
      [],
      [{ id: 'a', startedAt: NOW }],
      new Date(NOW),
      Object.assign(Object.create(null) as object, { id: 'n1', startedAt: NOW }),
      hostile,
      { id: 'p1', startedAt: NOW, prompt: null },
      { id: 'p2', startedAt: NOW, prompt: [] },
      { id: 'p3', startedAt: NOW, prompt: {} },
      { id: 'p4', startedAt: NOW, rollout: [] },
      { id: 'p5', startedAt: NOW, usage: null },
    ])
      agree(input);
  });
});
