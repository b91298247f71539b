import { contentSha, verifyChain, type PromptContent, type VerifyProblem, type VerifyReport } from '@promptops/core';
import type { Storage } from '../storage/port.js';
import { toAuditEntry } from './service.js';

/**
 * `promptops verify`, like `git fsck`: recomputes every version's sha from its stored content, re-walks
 * the audit hash chain, and checks that versions, deployments and labels agree with what the chain
 * recorded. Anything altered behind the server's back is reported with the row it is in.
 */

const PAGE = 1000;

export const verifyProject = async (storage: Storage, projectId: number): Promise<VerifyReport> => {
  const problems: VerifyProblem[] = [];

  // 1. The chain itself.
  const entries = [];
  for (let after = 0; ;) {
    const rows = await storage.listAudit(projectId, { afterSeq: after, limit: PAGE });
    entries.push(...rows);
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.seq;
  }
  for (const problem of verifyChain(entries.map((row) => ({ ...toAuditEntry(row), hash: row.hash })))) {
    problems.push({
      table: 'audit_log',
      row: `seq ${problem.seq}`,
      problem: problem.problem,
      message: problem.message,
    });
  }

  // What the chain says happened.
  const createdSha = new Map<string, string>();
  const deploymentsById = new Map<number, Record<string, unknown>>();
  for (const entry of entries) {
    const data = JSON.parse(entry.data) as Record<string, unknown>;
    if (entry.action === 'version.created')
      createdSha.set(`${String(data['name'])}@v${String(data['version'])}`, String(data['sha']));
    if (typeof data['deploymentId'] === 'number') deploymentsById.set(data['deploymentId'], data);
  }

  // 2. Every version's identity.
  let versions = 0;
  for await (const batch of storage.streamVersions(projectId, PAGE)) {
    for (const row of batch) {
      versions += 1;
      const where = `${row.name}@v${row.version}`;
      let recomputed: string | undefined;
      let contentName: string | undefined;
      try {
        const content = JSON.parse(row.content) as PromptContent;
        recomputed = contentSha(content);
        contentName = content.name;
      } catch {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'unreadable',
          message: `${where}: stored content is not valid JSON`,
        });
        continue;
      }
      if (recomputed !== row.sha) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'sha_mismatch',
          message: `${where}: content was altered: it hashes to ${recomputed.slice(0, 12)}…, but its sha is ${row.sha.slice(0, 12)}…`,
        });
      } else if (contentName !== row.name) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'name_mismatch',
          message: `${where}: content names prompt '${contentName}'`,
        });
      }
      const recorded = createdSha.get(where);
      if (recorded === undefined) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'unrecorded',
          message: `${where}: no audit entry records its creation`,
        });
      } else if (recorded !== row.sha) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'sha_differs_from_audit',
          message: `${where}: sha ${row.sha.slice(0, 12)}… differs from the audited ${recorded.slice(0, 12)}…`,
        });
      }
    }
  }
  if (versions < createdSha.size) {
    problems.push({
      table: 'versions',
      row: '*',
      problem: 'missing',
      message: `the audit log records ${createdSha.size} versions but only ${versions} are stored`,
    });
  }

  // 3. Deployments and labels against the chain.
  let deployments = 0;
  let labels = 0;
  for (const prompt of await storage.listPrompts(projectId)) {
    const rows = await storage.listDeployments(prompt.id, {});
    deployments += rows.length;
    const lastTo = new Map<string, string>();
    for (const row of rows) {
      lastTo.set(row.label, row.toSha);
      const where = `#${row.id} (${prompt.name}:${row.label})`;
      const recorded = deploymentsById.get(row.id);
      if (!recorded) {
        problems.push({
          table: 'deployments',
          row: where,
          problem: 'unrecorded',
          message: `deployment ${where}: no audit entry records it`,
        });
      } else if (
        (recorded['toSha'] !== undefined && recorded['toSha'] !== row.toSha) ||
        (recorded['sha'] !== undefined && recorded['sha'] !== row.toSha)
      ) {
        problems.push({
          table: 'deployments',
          row: where,
          problem: 'altered',
          message: `deployment ${where}: its target differs from the audited one`,
        });
      }
    }
    for (const label of await storage.listLabels(prompt.id)) {
      labels += 1;
      const expected = lastTo.get(label.label);
      if (expected !== label.sha) {
        problems.push({
          table: 'labels',
          row: `${prompt.name}:${label.label}`,
          problem: 'altered',
          message: `label ${prompt.name}:${label.label} points at ${label.sha.slice(0, 12)}… but its last deployment moved it to ${(expected ?? 'nothing').slice(0, 12)}`,
        });
      }
    }
  }

  return {
    ok: problems.length === 0,
    checked: { versions, auditEntries: entries.length, deployments, labels },
    problems,
  };
};
