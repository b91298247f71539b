import {
  AUDIT_HEAD_FORMAT,
  headProblems,
  keyedChainProblems,
  readAuditStory,
  verifyChain,
  type AuditHead,
  type VerifyProblem,
  type VerifyReport,
} from '@promptops/core';
import type { AccessReads } from '../access/store.js';
import type { AuditRow, RegistryReads } from '../registry/store.js';
import type { ReviewReads } from '../reviews/store.js';
import type { AuditKeyring } from './keyring.js';
import { checkRegistry } from './verify-registry.js';
import { checkReviews } from './verify-reviews.js';
import { checkSettings } from './verify-settings.js';

/**
 * `promptops verify`, like `git fsck`: recomputes every version's sha from its stored content, re-walks
 * the audit hash chain (and its HMACs, with the server's audit key), checks that the chain still extends
 * a head exported earlier, and compares every row that tells the story (versions, prompt heads,
 * deployments, labels, policies, owners, teams, keys, members, change requests and their review events)
 * with the audit entry that recorded it.
 * Anything altered behind the server's back is reported with the row it is in.
 */

const PAGE = 1000;

export interface VerifyOptions {
  readonly keyring?: AuditKeyring | undefined;
  /** A head exported earlier (`promptops verify --against-head FILE`). */
  readonly against?: Pick<AuditHead, 'seq' | 'hash' | 'signature'> | undefined;
}

/** What `verify` reads: the registry, and the access and review settings the audit log records. */
export interface VerifyReads {
  readonly registry: RegistryReads;
  readonly access: AccessReads;
  readonly reviews: ReviewReads;
}

const readChain = async (registry: RegistryReads, projectId: number): Promise<AuditRow[]> => {
  const rows: AuditRow[] = [];
  for (let after = 0; ;) {
    const page = await registry.listAudit(projectId, { afterSeq: after, limit: PAGE });
    rows.push(...page);
    if (page.length < PAGE) return rows;
    after = page[page.length - 1]!.seq;
  }
};

const chainProblem = (seq: number, problem: string, message: string): VerifyProblem => ({
  table: 'audit_log',
  row: `seq ${seq}`,
  problem,
  message,
});

export const verifyProject = async (
  stores: VerifyReads,
  projectId: number,
  options: VerifyOptions = {},
): Promise<VerifyReport> => {
  const { keyring, against } = options;
  const problems: VerifyProblem[] = [];
  const rows = await readChain(stores.registry, projectId);

  // 1. The chain itself: links, hashes, and the HMACs when this server holds the key.
  const entries = rows.map((row) => {
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(row.data) as Record<string, unknown>;
    } catch {
      problems.push(chainProblem(row.seq, 'unreadable', `audit entry #${row.seq}: its data is not valid JSON`));
    }
    return { ...row, data };
  });
  for (const problem of verifyChain(entries))
    problems.push(chainProblem(problem.seq, problem.problem, problem.message));
  if (keyring !== undefined) {
    for (const problem of keyedChainProblems(entries, (entry) => keyring.macHolds(projectId, entry.hash, entry.mac)))
      problems.push(chainProblem(problem.seq, problem.problem, problem.message));
  }

  // 2. Against a head noted down earlier: truncation and re-chaining show there.
  const newest = rows.at(-1);
  const project = (await stores.registry.getProject(projectId))?.name ?? String(projectId);
  if (against !== undefined) {
    const hashes = new Map(rows.map((row) => [row.seq, row.hash]));
    const signed =
      against.signature === undefined || keyring === undefined
        ? undefined
        : keyring.headSignatureHolds({ project, seq: against.seq, hash: against.hash }, against.signature);
    for (const problem of headProblems(against, (seq) => hashes.get(seq), newest?.seq ?? 0, signed))
      problems.push(chainProblem(problem.seq, problem.problem, problem.message));
  }

  // 3. Every row that tells the story, against what the chain recorded.
  const story = readAuditStory(entries);
  const registry = await checkRegistry(stores.registry, projectId, story, problems);
  const settings = await checkSettings(stores, projectId, story, problems);
  const reviews = await checkReviews(stores, projectId, story, problems);

  const ok = problems.length === 0;
  const head: AuditHead | null =
    newest === undefined
      ? null
      : {
          format: AUDIT_HEAD_FORMAT,
          project,
          seq: newest.seq,
          hash: newest.hash,
          // Only a log that verifies clean gets a signed head: a signature must never vouch for tampering.
          ...(keyring === undefined || !ok
            ? {}
            : { signature: keyring.signHead({ project, seq: newest.seq, hash: newest.hash }) }),
        };
  return {
    ok,
    checked: { ...registry, auditEntries: rows.length, ...settings, ...reviews },
    problems,
    head,
    hmac: { key: keyring !== undefined, entries: rows.filter((row) => row.mac !== null).length },
  };
};
