import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** RFC 8785 (JCS) canonical JSON: key order and number formatting no longer matter. */
export const canonicalJson = (value: unknown): string => {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as canonical JSON');
  return text;
};

export const sha256Hex = (text: string): string => bytesToHex(sha256(utf8ToBytes(text)));

/** The identity of any JSON value: sha256 of its canonical JSON. */
export const contentSha = (value: unknown): string => sha256Hex(canonicalJson(value));

export const SHA_PATTERN = /^[0-9a-f]{64}$/;
export const SHORT_SHA_LENGTH = 7;
export const shortSha = (sha: string): string => sha.slice(0, SHORT_SHA_LENGTH);
