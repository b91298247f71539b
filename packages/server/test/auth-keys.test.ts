import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf, sha256Hex } from '../src/auth/keys.js';

describe('API key hashing', () => {
  it('is the sha256 of the key, hex (the stored form must not change between versions)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (key) => {
        expect(hashApiKey(key)).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
      }),
    );
    expect(keyIdOf(hashApiKey('po_x'))).toHaveLength(16);
  });
});
