import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as rolloutsEntry from '@promptops/core/rollouts';
import {
  PromptopsError,
  assignArm,
  assignmentBucket,
  assignmentInput,
  murmur3x86_32,
  murmur3Utf8,
  rampThreshold,
} from '../src/index.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('murmur3 x86 32-bit', () => {
  // Published values of MurmurHash3_x86_32 (Appleby's SMHasher), independent of this implementation.
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['hello', 0, 0x248bfa47],
    ['hello, world', 0, 0x149bbb7f],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
  ] as const)('hashes %j with seed %i to the published value', (text, seed, expected) => {
    expect(murmur3x86_32(utf8(text), seed)).toBe(expected);
  });

  it('hashes the UTF-8 bytes of a string, never its UTF-16 code units', () => {
    for (const text of ['é', 'Zoë', '日本語', '😀', 'a😀b', 'x'.repeat(1000) + 'ü']) {
      expect(murmur3Utf8(text)).toBe(murmur3x86_32(utf8(text)));
    }
    expect(murmur3Utf8('é')).not.toBe(murmur3x86_32(new Uint8Array([0xe9])));
  });

  it('encodes a lone surrogate as U+FFFD, as TextEncoder does', () => {
    expect(murmur3Utf8('a\ud800b')).toBe(murmur3x86_32(new Uint8Array([0x61, 0xef, 0xbf, 0xbd, 0x62])));
  });

  it('agrees with the byte hash on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
        expect(murmur3Utf8(text)).toBe(murmur3x86_32(utf8(text)));
      }),
      { seed: 20, numRuns: 500 },
    );
  });
});

describe('assignment', () => {
  it('hashes `salt:unitKey`; the salt is the rollout id unless reshuffled on purpose', () => {
    expect(assignmentInput('ro_1', 'user-42')).toBe('ro_1:user-42');
    expect(assignmentBucket('ro_1', 'user-42')).toBe(murmur3Utf8('ro_1:user-42') % 10_000);
  });

  it('puts a unit in the candidate when its bucket is under ramp x 100', () => {
    const bucket = assignmentBucket('ro_1', 'user-42');
    expect(assignArm('ro_1', 'user-42', bucket / 100)).toEqual({ arm: 'baseline', bucket });
    expect(assignArm('ro_1', 'user-42', (bucket + 1) / 100)).toEqual({ arm: 'candidate', bucket });
    expect(assignArm('ro_1', 'user-42', 0).arm).toBe('baseline');
    expect(assignArm('ro_1', 'user-42', 100).arm).toBe('candidate');
  });

  it('sends a call without a unit key to the baseline, with no bucket', () => {
    for (const unitKey of [undefined, null, '']) {
      expect(assignArm('ro_1', unitKey, 100)).toEqual({ arm: 'baseline', bucket: null });
    }
  });

  it('reads ramps with two decimals exactly (0.07 % is 7 buckets, not 8)', () => {
    expect(rampThreshold(0.07)).toBe(7);
    expect(rampThreshold(12.34)).toBe(1234);
    expect(rampThreshold(100)).toBe(10_000);
  });

  it.each([[-1], [100.5], [0.001], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'refuses the ramp %s with invalid_rollout naming the field',
    (ramp) => {
      try {
        assignArm('ro_1', 'u', ramp);
        expect.unreachable('accepted a bad ramp');
      } catch (error) {
        expect(error).toBeInstanceOf(PromptopsError);
        expect((error as PromptopsError).code).toBe('invalid_rollout');
        expect((error as PromptopsError).message).toMatch(/ramp/);
      }
    },
  );

  it('a new salt reshuffles the units', () => {
    let moved = 0;
    for (let i = 0; i < 1000; i += 1) {
      if (assignmentBucket('ro_1', `u${i}`) !== assignmentBucket('ro_1#2', `u${i}`)) moved += 1;
    }
    expect(moved).toBeGreaterThan(990);
  });
});

describe('the rollouts entry', () => {
  it('@promptops/core/rollouts gives the same functions as the root', () => {
    expect(rolloutsEntry.assignArm).toBe(assignArm);
    expect(rolloutsEntry.murmur3Utf8).toBe(murmur3Utf8);
    expect(typeof rolloutsEntry.decide).toBe('function');
  });
});

describe('assignment properties', () => {
  const rampArb = fc.integer({ min: 0, max: 10_000 }).map((buckets) => buckets / 100);

  it('raising the ramp never moves a unit from the candidate to the baseline', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'binary' }), rampArb, rampArb, (salt, unitKey, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        if (assignArm(salt, unitKey, low).arm === 'candidate') {
          expect(assignArm(salt, unitKey, high).arm).toBe('candidate');
        }
      }),
      { seed: 2020, numRuns: 2000 },
    );
  });

  it('1,000,000 random keys at 10 % land within ±0.3 % of 10 %', () => {
    // Deterministic keys from a seeded xorshift: random-looking, identical on every run.
    let state = 0x2545f491;
    const next = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    const total = 1_000_000;
    let candidates = 0;
    for (let i = 0; i < total; i += 1) {
      const key = `user-${next().toString(36)}${next().toString(36)}`;
      if (assignArm('ro_accuracy', key, 10).arm === 'candidate') candidates += 1;
    }
    const share = candidates / total;
    console.log(`10 % split over ${total} keys: ${(share * 100).toFixed(3)} % in the candidate`);
    expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.003);
  });
});
