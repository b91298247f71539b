import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them (snake_case, as in SQL). Both dialects store times as ISO-8601 text,
 * version content as canonical JSON text and audit data as JSON text, so rows read back identically.
 * `kysely-storage.ts` maps these rows to the port's camelCase shapes.
 */

export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: Generated<number>;
  project_id: number;
  key_id: string;
  hash: string;
  role: string;
  name: string;
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface PromptsTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  head_version: number;
  head_sha: string | null;
  created_at: string;
  updated_at: string;
}

/** Append-only. */
export interface VersionsTable {
  project_id: number;
  prompt_id: number;
  version: number;
  sha: string;
  content: string;
  parent_sha: string | null;
  author: string;
  message: string;
  created_at: string;
}

export interface LabelsTable {
  prompt_id: number;
  label: string;
  sha: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

/** Append-only. */
export interface DeploymentsTable {
  id: Generated<number>;
  project_id: number;
  prompt_id: number;
  label: string;
  from_sha: string | null;
  from_version: number | null;
  to_sha: string;
  to_version: number;
  kind: string;
  actor: string;
  reason: string;
  created_at: string;
}

/** Append-only, hash-chained per project. */
export interface AuditLogTable {
  project_id: number;
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface Database {
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  prompts: PromptsTable;
  versions: VersionsTable;
  labels: LabelsTable;
  deployments: DeploymentsTable;
  audit_log: AuditLogTable;
}
