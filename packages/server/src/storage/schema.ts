import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them (snake_case, as in SQL). Both dialects store times as ISO-8601 text,
 * version content as canonical JSON text and audit data as JSON text, so rows read back identically.
 * Each feature's `kysely-store.ts` maps these rows to its store's camelCase shapes.
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
  /** The tenant the key is limited to, or null (migration 0021). */
  tenant: string | null;
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
  /** HMAC with the server's audit key (migration 0009); null when written without one. */
  mac: string | null;
}

/** One LLM call as the application saw it; deletable (retention). Times are epoch ms. */
export interface TracesTable {
  id: Generated<number>;
  project_id: number;
  event_id: string;
  trace_id: string | null;
  span_id: string | null;
  parent_span_id: string | null;
  prompt_name: string | null;
  prompt_version: number | null;
  prompt_sha: string | null;
  effective_sha: string | null;
  label: string | null;
  tenant: string | null;
  rollout_id: string | null;
  rollout_arm: string | null;
  /** The hash of the call's unit key (migration 0019). */
  rollout_unit: string | null;
  /** The event id of the baseline trace a shadow output pairs with (migration 0013). */
  shadow_of: string | null;
  release_sha: string | null;
  variables: string | null;
  output: string | null;
  model: string | null;
  provider: string | null;
  latency_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number | null;
  status: string;
  error: string | null;
  attributes: string | null;
  started_at_ms: number;
  created_at_ms: number;
}

export interface TraceScoresTable {
  id: Generated<number>;
  project_id: number;
  trace_row_id: number;
  event_id: string;
  name: string;
  kind: string;
  value: number | null;
  string_value: string | null;
  comment: string | null;
  actor: string;
  created_at_ms: number;
}

/** A key rollups count under (migration 0007): '' stands for none in the text columns. */
export interface TraceRollupSeriesTable {
  id: Generated<number>;
  project_id: number;
  prompt_name: string;
  prompt_sha: string;
  effective_sha: string;
  label: string;
  tenant: string;
  rollout_id: string;
  rollout_arm: string;
}

/** The key of a rollup row. */
interface RollupKeyColumns {
  project_id: number;
  prompt_name: string;
  grain_ms: number;
  bucket_ms: number;
  series_id: number;
}

/** The figures every rollup row adds up (its latency sketch beside them). */
export interface RollupSums {
  count: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost: number;
  thumbs_up: number;
  thumbs_down: number;
  score_sum: number;
  score_count: number;
}

/** Trace metrics per (grain, bucket, key), kept at insert. */
export interface TraceRollupsTable extends RollupKeyColumns, RollupSums {
  /** The latency sketch: SQLite core's binary form; PostgreSQL jsonb (core's JSON form). */
  latency: unknown;
}

export interface TraceRollupScoresTable extends RollupKeyColumns {
  name: string;
  sum: number;
  count: number;
}

/** Per hour, the figures per charted group (sha, label, arm). */
export interface TraceRollupGroupsTable extends RollupSums {
  project_id: number;
  prompt_name: string;
  group_by: string;
  hour_ms: number;
  group_key: string;
  latency: unknown;
}

export interface TraceRollupDirtyTable {
  project_id: number;
  prompt_name: string;
  hour_ms: number;
  version: number;
}

export interface TraceRollupTenantsTable {
  project_id: number;
  prompt_name: string;
  tenant: string;
}

export interface TraceRollupBackfillTable {
  id: number;
  trace_until: number;
  score_until: number;
  trace_done: number;
}

export interface Database {
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  prompts: PromptsTable;
  versions: VersionsTable;
  labels: LabelsTable;
  deployments: DeploymentsTable;
  audit_log: AuditLogTable;
  traces: TracesTable;
  trace_scores: TraceScoresTable;
  trace_rollup_series: TraceRollupSeriesTable;
  trace_rollups: TraceRollupsTable;
  trace_rollup_scores: TraceRollupScoresTable;
  trace_rollup_groups: TraceRollupGroupsTable;
  trace_rollup_dirty: TraceRollupDirtyTable;
  trace_rollup_tenants: TraceRollupTenantsTable;
  trace_rollup_backfill: TraceRollupBackfillTable;
}

/** The access tables (migration 0003). */
export interface UsersTable {
  id: Generated<number>;
  name: string;
  created_at: string;
}

export interface MembershipsTable {
  project_id: number;
  user_id: number;
  role: string;
  display_name: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export interface AccessDatabase extends Omit<Database, 'api_keys'> {
  api_keys: ApiKeysTable & { user_id: number | null };
  users: UsersTable;
  memberships: MembershipsTable;
}

/** The review tables as Kysely sees them (migration 0004). */
// A type alias (not an interface) so it satisfies `withTables`' record constraint.
export type ReviewDatabase = {
  label_policies: {
    project_id: number;
    label: string;
    pattern: string;
    protected: number;
    approvals: number;
    min_role: string;
    owners: string;
    code_owners: number;
    suites: string;
    author_may_approve: number;
    no_drift: Generated<string>;
    tenant_self_service: Generated<number>;
    updated_at: string;
    updated_by: string;
  };
  code_owners: { project_id: number; pattern: string; owners: string; updated_at: string; updated_by: string };
  teams: { project_id: number; team: string; members: string; updated_at: string; updated_by: string };
  change_requests: {
    id: Generated<number>;
    project_id: number;
    prompt_id: number;
    label: string;
    status: string;
    author: string;
    message: string;
    sha: string;
    version: number;
    base_sha: string | null;
    base_version: number | null;
    created_at: string;
    updated_at: string;
    deployment_id: number | null;
    /** The proposed rollout's plan (JSON), or null: merging moves the label. */
    rollout: string | null;
    rollout_id: string | null;
  };
  review_events: {
    id: Generated<number>;
    change_request_id: number;
    kind: string;
    actor: string;
    sha: string;
    comment: string;
    at: string;
  };
};

/** The drift reports (migration 0012) as Kysely sees them. */
export type DriftTables = {
  drift_reports: {
    id: Generated<number>;
    project_id: number;
    prompt_name: string;
    a_sha: string;
    a_version: number;
    b_sha: string;
    b_version: number;
    source: string;
    suite: string | null;
    window_since: string | null;
    window_until: string | null;
    drifted: number;
    verdict: string;
    report: string;
    created_by: string;
    created_at: string;
  };
};

/** The eval tables (migrations 0005 and 0010) as Kysely sees them. */
export type EvalTables = {
  eval_suites: {
    project_id: number;
    name: string;
    version: number;
    sha: string;
    prompt: string;
    content: string;
    author: string;
    message: string;
    created_at: string;
  };
  eval_runs: {
    id: Generated<number>;
    project_id: number;
    suite_name: string;
    suite_sha: string;
    suite_version: number;
    prompt_name: string;
    prompt_sha: string;
    prompt_version: number;
    provider: string;
    passed: number;
    pass_rate: number;
    summary: string;
    started_at: string;
    duration_ms: number;
    recorded_by: string;
    recorded_at: string;
    /** The tenant whose effective prompt the run tested, or null: the shared prompt (migration 0022). */
    tenant: string | null;
    effective_sha: string | null;
    override_sha: string | null;
  };
  eval_run_cases: {
    run_id: number;
    position: number;
    case_id: string;
    case_hash: string;
    pass: number;
    score: number;
    vars: string;
    output: string | null;
    error: string | null;
    assertions: string;
    latency_ms: number | null;
    input_tokens: number | null;
    output_tokens: number | null;
    cost: number | null;
    cached: number;
  };
};

/** The rollout tables (migration 0011) as Kysely sees them; `config` and `figures` are JSON text. */
export type RolloutTables = {
  rollouts: {
    id: string;
    project_id: number;
    prompt_id: number;
    label: string;
    mode: string;
    baseline_sha: string | null;
    candidate_sha: string;
    candidate_version: number;
    salt: string;
    config: string;
    state: string;
    step_index: number;
    step_started_at: string | null;
    reason: string | null;
    created_by: string;
    created_at: string;
    updated_at: string;
    ended_at: string | null;
    /** TargetingRule[] as JSON text (0018); null: none. */
    rules: string | null;
    /** 1: the kill switch is on (0018). */
    killed: Generated<number>;
  };
  rollout_decisions: {
    id: Generated<number>;
    rollout_id: string;
    project_id: number;
    at: string;
    action: string;
    actor: string;
    reason: string;
    figures: string | null;
  };
  leases: { name: string; holder: string; expires_at: string };
};

/** A label's own targeting rules (migration 0023); `rules` is JSON text. */
export type LabelRuleTables = {
  label_rules: {
    id: Generated<number>;
    project_id: number;
    prompt_id: number;
    label: string;
    rules: string;
    updated_by: string;
    updated_at: string;
  };
};

/** Tenant override versions (migration 0015) as Kysely sees them. */
export type TenantTables = {
  tenant_overrides: {
    id: Generated<number>;
    project_id: number;
    prompt_id: number;
    tenant: string;
    version: number;
    sha: string;
    content: string;
    label: string;
    base_sha: string | null;
    author: string;
    message: string;
    created_at: string;
  };
};
