/**
 * MurmurHash3, x86 32-bit flavour (Austin Appleby's reference, public domain): the hash behind sticky
 * rollout assignment, as in Unleash and flagd, so every SDK, the server and the gateway bucket alike.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const mixK = (k: number): number => Math.imul(((k = Math.imul(k, C1)) << 15) | (k >>> 17), C2);

/** The hash of `bytes[0, length)` with `seed`, as an unsigned 32-bit integer. */
export const murmur3x86_32 = (bytes: Uint8Array, seed = 0, length = bytes.length): number => {
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h ^= mixK(bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k |= bytes[blocks + 1]! << 8;
    if (tail > 2) k |= bytes[blocks + 2]! << 16;
    h ^= mixK(k);
  }
  h ^= length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

const encoder = new TextEncoder();
// Reused between calls: assignment runs on every `get`, and encoding into it allocates nothing.
let scratch = new Uint8Array(256);

/** The hash of the UTF-8 bytes of `text` (a lone surrogate is U+FFFD, as TextEncoder writes it). */
export const murmur3Utf8 = (text: string, seed = 0): number => {
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return murmur3x86_32(scratch, seed, written);
};
