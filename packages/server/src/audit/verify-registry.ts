import {
  contentSha,
  differingFields,
  shortSha,
  type AuditStory,
  type PromptContent,
  type VerifyProblem,
} from '@promptops/core';
import type { DeploymentRow, RegistryReads, VersionRow } from '../registry/store.js';

/**
 * Versions, prompt heads, deployments and labels against the audit story: every column a push or a label
 * move wrote is the one its audit entry recorded, nothing recorded is missing, and the mutable pointers
 * (a prompt's head, a label) agree with the history they summarize.
 */

const PAGE = 1000;

interface VersionIndex {
  /** promptId -> sha -> version number. */
  readonly numbers: Map<number, Map<string, number>>;
  /** promptId -> its newest version. */
  readonly newest: Map<number, { version: number; sha: string }>;
}

const checkContent = (row: VersionRow, where: string, problems: VerifyProblem[]): boolean => {
  let content: PromptContent;
  try {
    content = JSON.parse(row.content) as PromptContent;
  } catch {
    problems.push({
      table: 'versions',
      row: where,
      problem: 'unreadable',
      message: `${where}: stored content is not valid JSON`,
    });
    return false;
  }
  const recomputed = contentSha(content);
  if (recomputed !== row.sha) {
    problems.push({
      table: 'versions',
      row: where,
      problem: 'sha_mismatch',
      message: `${where}: content was altered: it hashes to ${recomputed.slice(0, 12)}…, but its sha is ${row.sha.slice(0, 12)}…`,
    });
  } else if (content.name !== row.name) {
    problems.push({
      table: 'versions',
      row: where,
      problem: 'name_mismatch',
      message: `${where}: content names prompt '${content.name}'`,
    });
  }
  return true;
};

const checkVersions = async (
  reads: RegistryReads,
  projectId: number,
  story: AuditStory,
  problems: VerifyProblem[],
): Promise<{ count: number; index: VersionIndex }> => {
  const index: VersionIndex = { numbers: new Map(), newest: new Map() };
  const seen = new Set<string>();
  let count = 0;
  for await (const batch of reads.streamVersions(projectId, PAGE)) {
    for (const row of batch) {
      count += 1;
      const where = `${row.name}@v${row.version}`;
      seen.add(where);
      const numbers = index.numbers.get(row.promptId) ?? new Map<string, number>();
      index.numbers.set(row.promptId, numbers.set(row.sha, row.version));
      if ((index.newest.get(row.promptId)?.version ?? 0) < row.version)
        index.newest.set(row.promptId, { version: row.version, sha: row.sha });
      if (!checkContent(row, where, problems)) continue;

      const recorded = story.versions.get(where);
      if (recorded?.value == null) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'unrecorded',
          message: `${where}: no audit entry records its creation`,
        });
        continue;
      }
      const { sha, ...commit } = recorded.value;
      if (sha !== row.sha) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'sha_differs_from_audit',
          message: `${where}: sha ${row.sha.slice(0, 12)}… differs from the audited ${String(sha).slice(0, 12)}…`,
        });
        continue;
      }
      const fields = differingFields(commit, row as unknown as Record<string, unknown>);
      if (fields.length > 0) {
        problems.push({
          table: 'versions',
          row: where,
          problem: 'altered',
          message: `${where}: ${fields.join(', ')} differ${fields.length === 1 ? 's' : ''} from audit entry #${recorded.seq}`,
        });
      }
    }
  }
  for (const [where, recorded] of story.versions) {
    if (!seen.has(where)) {
      problems.push({
        table: 'versions',
        row: where,
        problem: 'missing',
        message: `${where}: audit entry #${recorded.seq} records it, but it is not stored`,
      });
    }
  }
  return { count, index };
};

/** A deployment's own columns, as the audit story names them, plus its version numbers' consistency. */
const deploymentFields = (row: DeploymentRow, numbers: Map<string, number> | undefined): string[] => {
  const fields: string[] = [];
  if (numbers?.get(row.toSha) !== row.toVersion) fields.push('toVersion');
  if ((row.fromSha === null ? null : numbers?.get(row.fromSha)) !== row.fromVersion) fields.push('fromVersion');
  return fields;
};

const checkDeployments = async (
  reads: RegistryReads,
  projectId: number,
  story: AuditStory,
  index: VersionIndex,
  problems: VerifyProblem[],
): Promise<{ prompts: number; deployments: number; labels: number }> => {
  const seen = new Set<number>();
  let deployments = 0;
  let labels = 0;
  const prompts = await reads.listPrompts(projectId);
  for (const prompt of prompts) {
    const newest = index.newest.get(prompt.id);
    if (prompt.headVersion !== (newest?.version ?? 0) || prompt.headSha !== (newest?.sha ?? null)) {
      problems.push({
        table: 'prompts',
        row: prompt.name,
        problem: 'altered',
        message: `prompt ${prompt.name}: its head is v${prompt.headVersion} (${shortSha(prompt.headSha ?? 'none')}), but its newest version is v${newest?.version ?? 0} (${shortSha(newest?.sha ?? 'none')})`,
      });
    }

    const rows = await reads.listDeployments(prompt.id, {});
    deployments += rows.length;
    const last = new Map<string, DeploymentRow>();
    for (const row of rows) {
      seen.add(row.id);
      last.set(row.label, row);
      const where = `#${row.id} (${prompt.name}:${row.label})`;
      const recorded = story.deployments.get(row.id);
      if (recorded?.value == null) {
        problems.push({
          table: 'deployments',
          row: where,
          problem: 'unrecorded',
          message: `deployment ${where}: no audit entry records it`,
        });
        continue;
      }
      const fields = [
        ...differingFields(recorded.value, row as unknown as Record<string, unknown>),
        ...deploymentFields(row, index.numbers.get(prompt.id)),
      ];
      if (fields.length > 0) {
        problems.push({
          table: 'deployments',
          row: where,
          problem: 'altered',
          message: `deployment ${where}: ${fields.join(', ')} differ${fields.length === 1 ? 's' : ''} from audit entry #${recorded.seq}`,
        });
      }
    }

    const labelRows = await reads.listLabels(prompt.id);
    labels += labelRows.length;
    for (const label of labelRows) {
      const where = `${prompt.name}:${label.label}`;
      const move = last.get(label.label);
      last.delete(label.label);
      const fields = differingFields(
        { sha: move?.toSha, version: move?.toVersion, updatedBy: move?.actor, updatedAt: move?.createdAt },
        label as unknown as Record<string, unknown>,
      );
      if (fields.length === 0) continue;
      problems.push({
        table: 'labels',
        row: where,
        problem: 'altered',
        message: fields.includes('sha')
          ? `label ${where} points at ${label.sha.slice(0, 12)}… but its last deployment moved it to ${(move?.toSha ?? 'nothing').slice(0, 12)}`
          : `label ${where}: ${fields.join(', ')} differ${fields.length === 1 ? 's' : ''} from its last deployment`,
      });
    }
    for (const [label, move] of last) {
      problems.push({
        table: 'labels',
        row: `${prompt.name}:${label}`,
        problem: 'missing',
        message: `label ${prompt.name}:${label} is gone, but deployment #${move.id} moved it to v${move.toVersion}`,
      });
    }
  }

  for (const [id, recorded] of story.deployments) {
    if (seen.has(id) || recorded.value === null) continue;
    const { name, label, toVersion } = recorded.value;
    problems.push({
      table: 'deployments',
      row: `#${id} (${String(name)}:${String(label)})`,
      problem: 'missing',
      message: `deployment #${id} (${String(name)}:${String(label)} to v${String(toVersion)}), recorded by audit entry #${recorded.seq}, is not stored`,
    });
  }
  return { prompts: prompts.length, deployments, labels };
};

export const checkRegistry = async (
  reads: RegistryReads,
  projectId: number,
  story: AuditStory,
  problems: VerifyProblem[],
): Promise<{ versions: number; prompts: number; deployments: number; labels: number }> => {
  const { count, index } = await checkVersions(reads, projectId, story, problems);
  return { versions: count, ...(await checkDeployments(reads, projectId, story, index, problems)) };
};
