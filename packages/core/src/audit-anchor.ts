import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import * as z from 'zod';
import { canonicalJson, SHA_PATTERN } from './canonical.js';
import { PromptopsError, formatIssues } from './errors.js';
import { zodIssues } from './schema.js';

/**
 * What the hash chain alone cannot prove: anyone with write access to the database can recompute plain
 * sha256 hashes, so a rewritten log can be re-chained and its end cut off. Two anchors outside the
 * database catch that: a head (seq and hash) exported earlier, which the chain must still extend, and an
 * HMAC key held by the server process, with which every new entry is authenticated.
 */

export const AUDIT_HEAD_FORMAT = 'promptops-audit-head/1';
/** An audit HMAC key shorter than this is refused: it must not be guessable. */
export const MIN_AUDIT_KEY_LENGTH = 32;

/** A point of a project's chain, noted outside the database (`promptops verify --export-head`). */
export interface AuditHead {
  readonly format: typeof AUDIT_HEAD_FORMAT;
  readonly project: string;
  readonly seq: number;
  readonly hash: string;
  /** HMAC-SHA256 (hex) of the head with the server's audit key, when the server holds one. */
  readonly signature?: string;
}

const hmacHex = (key: string, text: string): string => bytesToHex(hmac(sha256, utf8ToBytes(key), utf8ToBytes(text)));

/** An entry's HMAC: binds its hash (which covers every field and the previous hash) to its project. */
export const auditEntryMac = (key: string, projectId: number, hash: string): string =>
  hmacHex(key, `promptops-audit-entry/1:${projectId}:${hash}`);

export const auditHeadSignature = (key: string, head: Pick<AuditHead, 'project' | 'seq' | 'hash'>): string =>
  hmacHex(key, canonicalJson({ format: AUDIT_HEAD_FORMAT, project: head.project, seq: head.seq, hash: head.hash }));

const HEX64 = 'must be 64 lowercase hex characters';
const headSchema = z.object({
  format: z.literal(AUDIT_HEAD_FORMAT, { error: `format must be "${AUDIT_HEAD_FORMAT}"` }),
  project: z.string({ error: 'project must be the project name' }).min(1, 'project must be the project name'),
  seq: z
    .number({ error: 'seq must be a positive integer' })
    .int('seq must be a positive integer')
    .positive('seq must be a positive integer'),
  hash: z.string({ error: `hash ${HEX64}` }).regex(SHA_PATTERN, `hash ${HEX64}`),
  signature: z
    .string({ error: `signature ${HEX64}` })
    .regex(SHA_PATTERN, `signature ${HEX64}`)
    .optional(),
});

/** Reads a head file's JSON text; `file` names it in errors. Fields other than the head's are ignored. */
export const parseAuditHead = (text: string, file: string): AuditHead => {
  const fix = 'use a file written by `promptops verify --export-head FILE`';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PromptopsError('invalid', 'invalid_audit_head', `${file}: not valid JSON: ${(error as Error).message}`, {
      fix,
    });
  }
  const parsed = headSchema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new PromptopsError('invalid', 'invalid_audit_head', `${file}: not an audit head:\n${formatIssues(issues)}`, {
      issues,
      fix,
    });
  }
  const { format, project, seq, hash, signature } = parsed.data;
  return { format, project, seq, hash, ...(signature === undefined ? {} : { signature }) };
};

/** A head file's text: the head, and when it was exported (for the reader; not signed). */
export const formatAuditHead = (head: AuditHead, exportedAt: string): string =>
  `${JSON.stringify({ ...head, exportedAt }, null, 2)}\n`;

export interface KeyedChainProblem {
  readonly seq: number;
  readonly problem: 'mac_mismatch' | 'unkeyed';
  readonly message: string;
}

/**
 * The HMAC rules, for a server that holds the key. Every entry carrying an HMAC must match it. Entries
 * written before the key existed carry none, but once one entry is keyed every later one must be, and
 * the newest must be (the server seals an unkeyed log when it starts with the key): otherwise a writer
 * without the key could strip the HMACs and re-chain, or cut the keyed entries off.
 */
export const keyedChainProblems = <E extends { readonly seq: number; readonly mac: string | null }>(
  entries: readonly E[],
  macHolds: (entry: E & { readonly mac: string }) => boolean,
): KeyedChainProblem[] => {
  const problems: KeyedChainProblem[] = [];
  let keyedSince: number | undefined;
  entries.forEach((entry, index) => {
    if (entry.mac !== null) {
      keyedSince ??= entry.seq;
      if (!macHolds(entry as E & { readonly mac: string })) {
        problems.push({
          seq: entry.seq,
          problem: 'mac_mismatch',
          message: `audit entry #${entry.seq}: its HMAC does not match: the entry was rewritten (or written with another key)`,
        });
      }
    } else if (keyedSince !== undefined) {
      problems.push({
        seq: entry.seq,
        problem: 'unkeyed',
        message: `audit entry #${entry.seq} carries no HMAC, though #${keyedSince} before it does: written or rewritten without the key`,
      });
    } else if (index === entries.length - 1) {
      problems.push({
        seq: entry.seq,
        problem: 'unkeyed',
        message: `audit entry #${entry.seq}, the newest, carries no HMAC though this server keys every entry: the keyed entries were stripped or cut off`,
      });
    }
  });
  return problems;
};

export interface HeadProblem {
  readonly seq: number;
  readonly problem: 'truncated' | 'rewritten' | 'head_signature_invalid';
  readonly message: string;
}

/**
 * Whether the chain still extends a head exported earlier: the entry at its seq must exist with its hash
 * (the chain walk proves everything after links to it). `signatureHolds` is undefined when it cannot be
 * checked (no signature, or no key).
 */
export const headProblems = (
  head: Pick<AuditHead, 'seq' | 'hash'>,
  hashAt: (seq: number) => string | undefined,
  newestSeq: number,
  signatureHolds: boolean | undefined,
): HeadProblem[] => {
  if (signatureHolds === false) {
    return [
      {
        seq: head.seq,
        problem: 'head_signature_invalid',
        message: `the exported head (#${head.seq}) does not match its signature: the head file was edited or signed with another key`,
      },
    ];
  }
  const hash = hashAt(head.seq);
  if (hash === undefined) {
    return [
      {
        seq: head.seq,
        problem: 'truncated',
        message:
          newestSeq < head.seq
            ? `the audit log ends at #${newestSeq}, but the exported head is #${head.seq}: entries were cut off its end`
            : `audit entry #${head.seq} of the exported head is missing`,
      },
    ];
  }
  if (hash !== head.hash) {
    return [
      {
        seq: head.seq,
        problem: 'rewritten',
        message: `audit entry #${head.seq} no longer has the exported head's hash: the log was rewritten and re-chained since`,
      },
    ];
  }
  return [];
};
