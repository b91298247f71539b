import { contentSha } from './canonical.js';

/**
 * The audit log is a hash chain: each entry's hash covers its fields and the previous entry's hash,
 * so altering or removing any row breaks every hash after it. The genesis entry links to GENESIS_HASH.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditFields {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
}

export const auditHash = (fields: AuditFields): string =>
  contentSha({
    seq: fields.seq,
    at: fields.at,
    actor: fields.actor,
    action: fields.action,
    target: fields.target,
    data: fields.data,
    prevHash: fields.prevHash,
  });

export interface ChainProblem {
  readonly seq: number;
  readonly problem: 'hash_mismatch' | 'broken_link' | 'gap';
  readonly message: string;
}

/** Re-walks a chain in order and reports every entry that does not hold. */
export const verifyChain = (entries: readonly (AuditFields & { readonly hash: string })[]): ChainProblem[] => {
  const problems: ChainProblem[] = [];
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) {
      problems.push({
        seq: entry.seq,
        problem: 'gap',
        message:
          entry.seq > expectedSeq
            ? `audit entry #${expectedSeq} is missing (next is #${entry.seq})`
            : `audit entry #${entry.seq} is out of order or repeated (expected #${expectedSeq})`,
      });
    }
    if (entry.prevHash !== prev) {
      problems.push({
        seq: entry.seq,
        problem: 'broken_link',
        message: `audit entry #${entry.seq} does not link to the entry before it`,
      });
    }
    const recomputed = auditHash(entry);
    if (recomputed !== entry.hash) {
      problems.push({
        seq: entry.seq,
        problem: 'hash_mismatch',
        message: `audit entry #${entry.seq} (${entry.action} ${entry.target}) was altered: its hash does not match its content`,
      });
    }
    prev = entry.hash;
    expectedSeq = entry.seq + 1;
  }
  return problems;
};
