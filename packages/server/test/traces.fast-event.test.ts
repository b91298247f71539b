import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedEvent } from '../src/traces/fast-event.js';
import { ingestEventSchema, parseEvent, parseEventWithZod } from '../src/traces/schemas.js';

/**
 * Differential test of the ingest fast path against the zod schema it shortcuts: on generated events,
 * valid and invalid field by field (with the boundaries of every limit), both must agree on accept or
 * reject, and an accepted event must map to the same storage row either way.
 */

const NOW = Date.UTC(2025, 5, 1);

/** Values any field may get that are never valid for it (every field is a string, number or object). */
const junk = fc.constantFrom<unknown>(null, true, Number.NaN, Infinity, -Infinity, [], ['x']);

const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const text = (alphabet: string, min: number, max: number) =>
  fc.string({ unit: chars(alphabet), minLength: min, maxLength: max });
const HEX = '0123456789abcdefABCDEF';
const repeat = (n: number, unit = 'x') => unit.repeat(n);
/** [valid, invalid] strings at a length limit. */
const lengths = (min: number, max: number, unit = 'x') =>
  [
    fc.constantFrom(min, min + 1, max - 1, max).map((n) => repeat(n, unit)),
    fc
      .constantFrom(min - 1, max + 1)
      .filter((n) => n >= 0)
      .map((n) => repeat(n, unit)),
  ] as const;
const hex = (length: number) =>
  [
    text(HEX, length, length),
    fc.oneof(
      text(HEX, length - 1, length - 1),
      text(HEX, length + 1, length + 1),
      text('xg Z', 1, 1).map((c) => `${c}${'a'.repeat(length - 1)}`),
      fc.constant(`${'a'.repeat(length)}\n`),
    ),
  ] as const;
/** [valid, invalid] numbers for `0 <= n <= max`, integers only when `int`. */
const numbers = (max: number, int: boolean) =>
  [
    fc.oneof(
      fc.constantFrom(0, -0, 1, max),
      int ? fc.integer({ min: 0, max }) : fc.double({ min: 0, max, noNaN: true }),
    ),
    fc.constantFrom(-1, max + 1, Number.MAX_VALUE, ...(int ? [1.5, 2 ** 53, max - 0.5] : [-1e-9]), '1'),
  ] as const;

const ISO_OK = fc.oneof(
  fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(NOW), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2025-01-31T12:00:00Z', '2025-01-31T12:00Z', '2025-01-31T12:00:00.123+02:00'),
);

type Field = readonly [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>];
const promptFields: Record<string, Field> = {
  name: [
    fc.constantFrom('greeter', 'a', 'team/greeter', 'a.b-c_d', 'x9', repeat(200, 'a')),
    fc.constantFrom('Greeter', '/x', 'a//b', '', '-a', repeat(201, 'a'), 'a b'),
  ],
  version: [fc.constantFrom(1, 2, 18, Number.MAX_SAFE_INTEGER), fc.constantFrom(0, -1, 1.5, 2 ** 53, '1')],
  sha: hex(64),
  effectiveSha: hex(64),
  baseSha: hex(64),
  overrideSha: hex(64),
};
const fields: Record<string, Field> = {
  id: [
    fc.oneof(text('abc-_:!~.', 1, 8), fc.constant(repeat(128))),
    fc.constantFrom('', repeat(129), 'a b', 'tab\t', '\u00e9', 'a\nb'),
  ],
  shadowOf: [
    fc.oneof(text('abc-_:!~.', 1, 8), fc.constant(repeat(128))),
    fc.constantFrom('', repeat(129), 'a b', 'tab\t', '\u00e9', 'a\nb'),
  ],
  traceId: hex(32),
  spanId: hex(16),
  parentSpanId: hex(16),
  label: [
    fc.constantFrom('production', 'a', 'b-c_d', `a${repeat(62, 'b')}`),
    fc.constantFrom('A', '1a', '', `a${repeat(63, 'b')}`, 'a.b'),
  ],
  tenant: lengths(1, 200),
  releaseSha: [
    fc.oneof(text(HEX, 7, 7), text(HEX, 64, 64), text(HEX, 8, 40)),
    fc.oneof(text(HEX, 6, 6), text(HEX, 65, 65), fc.constant('abcdefz')),
  ],
  output: lengths(0, 128 * 1024),
  model: lengths(1, 200),
  provider: lengths(1, 200),
  latencyMs: numbers(86_400_000, false),
  cost: numbers(1e6, false),
  status: [fc.constantFrom('ok', 'error'), fc.constantFrom('OK', '', 'failed')],
  error: lengths(0, 8 * 1024),
  startedAt: [
    fc.oneof(fc.integer({ min: Date.UTC(2000, 0, 1), max: NOW }), ISO_OK),
    fc.constantFrom(-1, 1.5, '2025-01-31 12:00:00Z', '2025-01-31T12:00:00', 'yesterday', '', 2 ** 53),
  ],
  // Free-form: anything goes (the sanitizer bounds it on both paths); never invalid.
  variables: [fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)],
  attributes: [
    fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    fc.constant(undefined),
  ],
};
const nested: Record<string, Record<string, Field>> = {
  prompt: promptFields,
  rollout: { id: lengths(1, 200), arm: lengths(1, 200), unit: hex(16) },
  usage: { inputTokens: numbers(1e9, true), outputTokens: numbers(1e9, true) },
};
const REQUIRED = new Set(['id', 'startedAt', 'name']);

const validOf = (spec: Record<string, Field>) =>
  fc.record(Object.fromEntries(Object.entries(spec).map(([key, [ok]]) => [key, ok])), {
    requiredKeys: Object.keys(spec).filter((key) => REQUIRED.has(key)),
  });

/** A valid event: every field valid or absent (boundaries included). */
const validEvent = fc.record(
  {
    ...Object.fromEntries(Object.entries(fields).map(([key, [ok]]) => [key, ok])),
    ...Object.fromEntries(Object.entries(nested).map(([key, spec]) => [key, validOf(spec)])),
    unknownField: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['id', 'startedAt'] },
);

/** Every way to break one field: its invalid values, junk, or (for nested objects) one inner field. */
const breakage: fc.Arbitrary<[string[], unknown]>[] = [
  ...Object.entries(fields).map(([key, [, bad]]) =>
    fc.oneof(bad, junk).map((value): [string[], unknown] => [[key], value]),
  ),
  ...Object.entries(nested).flatMap(([key, spec]) => [
    junk.map((value): [string[], unknown] => [[key], value]),
    ...Object.entries(spec).map(([inner, [, bad]]) =>
      fc.oneof(bad, junk).map((value): [string[], unknown] => [[key, inner], value]),
    ),
  ]),
  fc.constantFrom<[string[], unknown]>(
    [['id'], undefined],
    [['startedAt'], undefined],
    [['prompt', 'name'], undefined],
  ),
];

/** A valid event with one or two fields broken (or, rarely, left alone). */
const mutatedEvent = fc
  .tuple(validEvent, fc.array(fc.oneof(...breakage), { minLength: 0, maxLength: 2 }))
  .map(([base, breaks]) => {
    const event: Record<string, unknown> = structuredClone(base);
    for (const [[key, inner], value] of breaks) {
      if (key === undefined) continue;
      if (inner === undefined) event[key] = value;
      else {
        const holder = event[key];
        event[key] = { ...(typeof holder === 'object' && holder !== null ? holder : {}), [inner]: value };
      }
    }
    return event;
  });

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
  it('accepts what zod accepts, mapped to the same rows', () => {
    fc.assert(
      fc.property(validEvent, (input) => {
        expect(ingestEventSchema.safeParse(input).success).toBe(true);
        agree(input);
      }),
      { numRuns: 1500 },
    );
  });

  it('rejects what zod rejects: one or two fields broken at a time', () => {
    fc.assert(fc.property(mutatedEvent, agree), { numRuns: 2500 });
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
