import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** RFC 8785 (JCS) canonical JSON: key order and number formatting no longer matter. */
export const canonicalJson = (value: unknown): string => {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as canonical JSON');
  return text;
};

export type Sha256Hex = (text: string) => string;

/** Portable (browsers, any runtime), but some 10x slower than a native digest before its code warms up. */
const portableSha256Hex: Sha256Hex = (text) => bytesToHex(sha256(utf8ToBytes(text)));
let sha256Implementation = portableSha256Hex;

/**
 * Node processes (the server, the CLI) hand in node:crypto's digest at start-up; core cannot import it and
 * stay loadable in a browser. Only speed changes: both give the same digest (tested). Returns the one before.
 */
export const useSha256 = (implementation: Sha256Hex): Sha256Hex => {
  const previous = sha256Implementation;
  sha256Implementation = implementation;
  return previous;
};

export const sha256Hex = (text: string): string => sha256Implementation(text);

/** The identity of any JSON value: sha256 of its canonical JSON. */
export const contentSha = (value: unknown): string => sha256Hex(canonicalJson(value));

export const SHA_PATTERN = /^[0-9a-f]{64}$/;
export const SHORT_SHA_LENGTH = 7;
export const shortSha = (sha: string): string => sha.slice(0, SHORT_SHA_LENGTH);
