import { assignArm, assignmentBucket, assignmentInput, murmur3Utf8, outcome, rolloutUnitHash } from './common.js';

const hex = (text: string): string => Buffer.from(new TextEncoder().encode(text)).toString('hex');

/** [vector name, text]: the hash alone, over the text's UTF-8 bytes, seed 0. */
const HASHES: readonly (readonly [string, string])[] = [
  ['the empty string', ''],
  ['one byte', 'a'],
  ['two bytes (tail of 2)', 'ab'],
  ['three bytes (tail of 3)', 'abc'],
  ['one block of 4', 'abcd'],
  ['a block and a tail', 'hello'],
  ['a sentence', 'The quick brown fox jumps over the lazy dog'],
  ['a 2-byte character (é)', 'é'],
  ['a 3-byte character (日)', '日'],
  ['a 4-byte character (emoji)', '😀'],
  ['a lone surrogate is U+FFFD (EF BF BD)', 'a\ud800b'],
];

const RAMPS = [0, 0.01, 1, 5, 10, 25, 50, 99.99, 100] as const;

/** [vector name, rollout id, salt, unit key]. The salt is the rollout id unless reshuffled on purpose. */
const UNITS: readonly (readonly [string, string, string, string | null])[] = [
  ['an ASCII user id', 'ro_01hx7k', 'ro_01hx7k', 'user-42'],
  ['another user of the same rollout', 'ro_01hx7k', 'ro_01hx7k', 'user-43'],
  ['the same user in another rollout', 'ro_01hx7m', 'ro_01hx7m', 'user-42'],
  ['a reshuffled salt', 'ro_01hx7k', 'ro_01hx7k#2', 'user-42'],
  ['an e-mail address', 'ro_01hx7k', 'ro_01hx7k', 'zoë@example.com'],
  ['accents (NFC)', 'ro_01hx7k', 'ro_01hx7k', 'José Müller'],
  ['accents (NFD: other bytes, another bucket; never normalized)', 'ro_01hx7k', 'ro_01hx7k', 'Jose\u0301 Mu\u0308ller'],
  ['CJK', 'ro_01hx7k', 'ro_01hx7k', '田中太郎'],
  ['an emoji (a surrogate pair in UTF-16)', 'ro_01hx7k', 'ro_01hx7k', '🙂 user'],
  ['a ZWJ emoji sequence', 'ro_01hx7k', 'ro_01hx7k', '👩‍💻'],
  ['Arabic', 'ro_01hx7k', 'ro_01hx7k', 'مستخدم'],
  ['a key with a colon', 'ro_01hx7k', 'ro_01hx7k', 'tenant:acme:user:7'],
  ['surrounding spaces are kept', 'ro_01hx7k', 'ro_01hx7k', ' user-42 '],
  ['a number-like key', 'ro_01hx7k', 'ro_01hx7k', '0'],
  ['a long key', 'ro_01hx7k', 'ro_01hx7k', 'k'.repeat(300)],
  ['the empty unit key is no unit key: baseline, no bucket', 'ro_01hx7k', 'ro_01hx7k', ''],
  ['no unit key (null): baseline, no bucket', 'ro_01hx7k', 'ro_01hx7k', null],
];

/** [vector name, rollout id, unit key]: the unit hash a rollout's traces carry (`rollout.unit`). */
const UNIT_HASHES: readonly (readonly [string, string, string])[] = [
  ['an ASCII user id', 'ro_01hx7k', 'user-42'],
  ['the same user in another rollout (salted by the rollout)', 'ro_01hx7m', 'user-42'],
  ['an e-mail address', 'ro_01hx7k', 'zoë@example.com'],
  ['accents (NFC)', 'ro_01hx7k', 'José Müller'],
  ['accents (NFD: other bytes, another hash; never normalized)', 'ro_01hx7k', 'Jose\u0301 Mu\u0308ller'],
  ['CJK', 'ro_01hx7k', '田中太郎'],
  ['an emoji (a surrogate pair in UTF-16)', 'ro_01hx7k', '🙂 user'],
  ['a ZWJ emoji sequence', 'ro_01hx7k', '👩‍💻'],
  ['Arabic', 'ro_01hx7k', 'مستخدم'],
  ['a lone surrogate is U+FFFD (EF BF BD)', 'ro_01hx7k', 'a\ud800b'],
  ['a key with a colon', 'ro_01hx7k', 'tenant:acme:user:7'],
  ['surrounding spaces are kept', 'ro_01hx7k', ' user-42 '],
  ['a long key', 'ro_01hx7k', 'k'.repeat(300)],
];

const BAD_RAMPS: readonly (readonly [string, number])[] = [
  ['a negative ramp', -1],
  ['a ramp over 100', 100.01],
  ['a ramp finer than one bucket', 0.005],
];

export const ASSIGNMENT_FILE = () => ({
  description:
    'Rollout assignment (packages/core/src/rollouts/assignment.ts). `hashes`: murmur3 x86 32-bit, seed 0, over the UTF-8 bytes of `input` (`utf8` in hex; a lone surrogate encodes as U+FFFD), as an unsigned integer. `units`: assignArm(salt, unitKey, ramp): the hashed text is `salt + ":" + unitKey` (`hashed`), bucket = hash mod 10000, arm "candidate" when bucket < round(ramp x 100), else "baseline"; a null or empty unit key is "baseline" with bucket null. The salt equals the rollout id unless changed on purpose to reshuffle. `invalidRamps`: a ramp outside 0..100 or finer than 0.01 gives invalid_rollout. `unitHashes`: rolloutUnitHash(rolloutId, unitKey) (packages/core/src/rollouts/unit.ts), the `rollout.unit` a rollout\'s trace carries instead of its unit key: the first 16 hex characters of sha256 over the UTF-8 bytes of `rolloutId + ":" + unitKey` (`hashed`; a lone surrogate encodes as U+FFFD); a null or empty unit key sends no unit.',
  hashes: HASHES.map(([name, input]) => ({ name, input, utf8: hex(input), hash: murmur3Utf8(input) })),
  units: UNITS.map(([name, rolloutId, salt, unitKey]) => {
    const keyed = unitKey !== null && unitKey !== '';
    return {
      name,
      rolloutId,
      salt,
      unitKey,
      ...(keyed
        ? {
            hashed: assignmentInput(salt, unitKey),
            hash: murmur3Utf8(assignmentInput(salt, unitKey)),
            bucket: assignmentBucket(salt, unitKey),
          }
        : { bucket: null }),
      arms: RAMPS.map((ramp) => ({ ramp, arm: assignArm(salt, unitKey, ramp).arm })),
    };
  }),
  unitHashes: UNIT_HASHES.map(([name, rolloutId, unitKey]) => ({
    name,
    rolloutId,
    unitKey,
    hashed: `${rolloutId}:${unitKey}`,
    unitHash: rolloutUnitHash(rolloutId, unitKey),
  })),
  invalidRamps: BAD_RAMPS.map(([name, ramp]) => {
    const result = outcome(() => assignArm('ro_01hx7k', 'user-42', ramp));
    if (result.error === undefined) throw new Error(`ramp ${ramp} was accepted`);
    return { name, ramp, error: result.error };
  }),
});
