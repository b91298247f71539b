import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { PromptopsError, type FieldIssue } from './errors.js';
import { formatPath, loneSurrogateProblem } from './schema.js';

/** The first place where `value` holds what JSON cannot: a lone surrogate or a number that is not finite. */
const unrepresentable = (value: unknown, path: readonly PropertyKey[]): FieldIssue | undefined => {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return { path: formatPath(path), message: `${value} is not a finite number` };
  }
  if (typeof value === 'string') {
    const problem = loneSurrogateProblem(value);
    return problem === undefined ? undefined : { path: formatPath(path), message: problem };
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const problem = loneSurrogateProblem(key);
    if (problem !== undefined) return { path: formatPath([...path, key]), message: `the key ${problem}` };
    const found = unrepresentable(item, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found !== undefined) return found;
  }
  return undefined;
};

/**
 * RFC 8785 (JCS) canonical JSON: key order and number formatting no longer matter. Text with a lone
 * surrogate and non-finite numbers have no canonical form: refused as invalid input, naming where.
 */
export const canonicalJson = (value: unknown): string => {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    const issue = error instanceof RangeError ? undefined : unrepresentable(value, []);
    if (issue === undefined) throw error;
    throw new PromptopsError('invalid', 'invalid_json', `${issue.path || '(root)'}: ${issue.message}`, {
      issues: [issue],
      fix: 'send well-formed Unicode text and finite numbers',
    });
  }
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
