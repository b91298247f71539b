import type { ErrorKind } from './error-kinds.js';

/**
 * Every error code promptops reports, with its kind (hence its HTTP status, see STATUS_BY_KIND), what
 * it means and what to do. Codes are a public contract: add, never rename. docs/errors.md is written
 * from this table (`npx tsx scripts/errors-doc.ts`); packages/core/test/error-catalogue.test.ts keeps
 * the two, and the codes the sources use, in step.
 */

export const ERROR_AREAS = {
  request: 'Any request',
  auth: 'Authentication and limits',
  access: 'Projects, members and keys',
  prompts: 'Prompts, versions and refs',
  labels: 'Labels and rollbacks',
  reviews: 'Reviews and policies',
  evals: 'Eval suites and runs',
  rollouts: 'Rollouts',
  incidents: 'Monitors and incidents',
  webhooks: 'Webhooks',
  gateway: 'Gateway (POST /v1/chat/completions)',
  drift: 'Drift reports',
  langfuse: 'Langfuse-compatible API and import',
  traces: 'Traces',
  changes: 'Change feed',
  audit: 'Audit log',
  files: 'Files (prompt files, lockfiles)',
  server: 'Starting the server',
  sdk: 'SDK (reported by the client, never sent by the server)',
  cli: 'CLI (reported by the command line, never sent by the server)',
} as const;
export type ErrorArea = keyof typeof ERROR_AREAS;

export interface ErrorCodeEntry<K extends ErrorKind = ErrorKind> {
  readonly kind: K;
  readonly area: ErrorArea;
  /** One line: when it happens. */
  readonly meaning: string;
  /** One line: what to do (the error's own `fix` says it for the case at hand). */
  readonly fix: string;
  /** Other kinds the code is answered with in some cases (the meaning says when). */
  readonly also: readonly ErrorKind[];
}

const e = <K extends ErrorKind, A extends ErrorKind = never>(
  kind: K,
  area: ErrorArea,
  meaning: string,
  fix: string,
  also: readonly A[] = [],
): ErrorCodeEntry<K> & { readonly also: readonly A[] } => ({ kind, area, meaning, fix, also });

export const ERROR_CATALOGUE = {
  // Any request
  invalid_request: e(
    'invalid',
    'request',
    'the request (body, query or path) is malformed; `issues` names each field',
    'correct the fields listed in `issues` (see GET /api/v1/openapi.json)',
  ),
  invalid_json: e(
    'invalid',
    'request',
    'the body is not well-formed JSON, or holds text or numbers JSON cannot carry',
    'send a well-formed JSON body',
  ),
  too_large: e(
    'too_large',
    'request',
    "the body is larger than the route's limit (1 MiB; eval runs and suites 16 MiB, ingestion 5 MiB)",
    'send less per request; the message names the limit',
  ),
  unsupported_media_type: e(
    'unsupported_media_type',
    'request',
    'the body is not of a type the route accepts',
    'send Content-Type: application/json (OTLP also takes application/x-protobuf)',
  ),
  route_not_found: e('not_found', 'request', 'no route has this method and path', 'see GET /api/v1/openapi.json'),
  storage_conflict: e(
    'conflict',
    'request',
    'a concurrent write won a race, or the database aborted the transaction',
    'retry the request: the state changed under it',
  ),
  project_not_found: e(
    'not_found',
    'request',
    'the project an operation names does not exist',
    'check the project id; keys only reach their own project',
  ),
  internal: e(
    'internal',
    'request',
    'an unexpected failure; logged with a request id, nothing leaked',
    'retry; if it persists, report it with `details.requestId`',
  ),
  no_actor: e(
    'internal',
    'request',
    'a route ran without an authenticated actor (a route declared without a permission)',
    'report it: every route must declare its permission',
  ),

  // Authentication and limits
  unauthorized: e(
    'unauthorized',
    'auth',
    'the API key is missing, unknown, revoked or suspended',
    'send Authorization: Bearer <api key> with a valid key',
  ),
  forbidden: e('forbidden', 'auth', "the key's role may not do this", 'use a key with a higher role'),
  tenant_scope: e(
    'forbidden',
    'auth',
    "a tenant-scoped key reaches only its own tenant's overrides and traces, and the shared prompts",
    'use a key of the whole project for this, or act on the tenant the key is scoped to',
  ),
  too_many_auth_failures: e(
    'rate_limited',
    'auth',
    'too many failed authentication attempts for this key id or from this address',
    'wait `Retry-After` seconds, then retry with a valid API key',
  ),
  too_many_writes: e(
    'rate_limited',
    'auth',
    'too many writes with this key this minute (--write-rate-limit)',
    'wait `Retry-After` seconds; reads are not limited',
  ),
  weak_init_key: e(
    'invalid',
    'auth',
    'PROMPTOPS_INIT_ADMIN_KEY is too short to be a safe key',
    'use a random key of at least 16 characters',
  ),
  invalid_write_rate_limit: e(
    'invalid',
    'auth',
    '--write-rate-limit is not a whole number of writes per minute per key',
    'use e.g. 1200 (the default), or 0 for no limit',
  ),

  // Projects, members and keys
  key_not_found: e(
    'not_found',
    'access',
    'no key with this id in the project',
    'list the keys with `promptops keys list`',
  ),
  key_revoked: e(
    'unprocessable',
    'access',
    'the key is revoked, so it cannot be rotated or changed',
    'create a new key instead',
  ),
  last_admin_key: e(
    'conflict',
    'access',
    'the change would leave the project without a working admin key',
    'create another admin key first',
  ),
  member_exists: e(
    'conflict',
    'access',
    'the project already has a member of this name',
    'change the member instead, or choose another name',
  ),
  member_not_found: e(
    'not_found',
    'access',
    'no member of this name in the project',
    'list the members with `promptops members list`',
  ),
  not_server_admin: e(
    'forbidden',
    'access',
    'managing projects needs an admin key of project `default`',
    'use an admin key of project `default`',
  ),
  project_exists: e(
    'conflict',
    'access',
    'a project of this name exists already',
    'choose another name (`promptops projects list` shows the taken ones)',
  ),
  role_above_membership: e(
    'unprocessable',
    'access',
    "a key acting as a member cannot have a role above the member's",
    "use the member's role or lower, or raise the member's role first",
  ),

  // Prompts, versions and refs
  invalid_name: e(
    'invalid',
    'prompts',
    'the text is not a prompt name',
    'use lowercase letters, digits, "_", "." and "-", with "/" between folders',
  ),
  invalid_ref: e(
    'invalid',
    'prompts',
    'the text is not a ref (version, sha or label)',
    'use v17, a sha or a prefix of at least 7 hex characters, or a label',
  ),
  invalid_label: e(
    'invalid',
    'prompts',
    'the text is not a label name',
    'use lowercase letters, digits, "_" and "-", starting with a letter',
  ),
  missing_ref: e(
    'invalid',
    'prompts',
    'a reference names a prompt but no version or label',
    'add @label or @ref, e.g. greeter@production',
  ),
  ambiguous_ref: e('conflict', 'prompts', 'a sha prefix matches several versions', 'use more characters of the sha'),
  prompt_not_found: e(
    'not_found',
    'prompts',
    'no prompt of this name in the project (or the client cannot serve it)',
    'check the name, or push it first',
  ),
  version_not_found: e(
    'not_found',
    'prompts',
    'the prompt has no version matching the ref',
    'see `promptops log NAME` for its versions',
  ),
  name_mismatch: e(
    'unprocessable',
    'prompts',
    'the name in the body differs from the name in the path',
    'send the same name in both',
  ),
  stale_parent: e(
    'conflict',
    'prompts',
    'the push names a parent that is not the head any more (`details.head` is the head now)',
    'pull, merge your change onto the head, and push again',
  ),
  invalid_prompt: e(
    'invalid',
    'prompts',
    'the prompt content is invalid; `issues` names each field',
    'correct the fields listed in `issues`',
  ),
  invalid_template: e(
    'invalid',
    'prompts',
    'a template does not parse as mustache',
    'close every section and tag; no code runs in templates',
  ),
  invalid_variables: e(
    'invalid',
    'prompts',
    'the variables given to render do not match the declared ones',
    'pass every required variable with its declared type',
  ),
  missing_slot: e(
    'invalid',
    'prompts',
    'a template includes a slot that is not declared',
    'declare the slot under `slots`, or remove the include',
  ),
  slot_recursion: e(
    'invalid',
    'prompts',
    'slots include each other too deeply (a cycle)',
    'remove the cycle between slots',
  ),
  invalid_override: e(
    'invalid',
    'prompts',
    'a tenant override is malformed, or sets something other than slots, variable defaults and params (temperature, maxTokens, model), or names a variable the prompt does not declare; `issues` names each field',
    "set only the prompt's slots, declared variables' defaults and the three params",
  ),
  override_unknown_slot: e(
    'invalid',
    'prompts',
    'a tenant override names a slot the prompt does not have; `details.slots` lists the slots it has',
    'override only slots the prompt declares, or add the slot to the prompt first',
  ),
  override_not_found: e(
    'not_found',
    'prompts',
    'the tenant has no override of the prompt (or no override version of this number)',
    'list the tenants with overrides: GET /api/v1/prompts/NAME/tenants',
  ),

  // Labels and rollbacks
  overrides_orphaned: e(
    'conflict',
    'labels',
    'the version would orphan tenant overrides: it lacks a slot they override; `details.tenants` names them',
    'keep the slot, change those overrides first, or (admin) force it as break glass with a reason',
  ),
  label_not_found: e('not_found', 'labels', 'the prompt has no label of this name', 'see `promptops labels NAME`'),
  label_protected: e(
    'forbidden',
    'labels',
    'a protected label moves only by a merged change request (or break glass)',
    'open a change request: `promptops review request`',
  ),
  label_reserved: e(
    'unprocessable',
    'labels',
    '`latest` moves by itself and cannot be set, protected or requested',
    'use another label',
  ),
  label_moved: e(
    'conflict',
    'labels',
    'the label moved while the change was being made',
    'look at the label again and retry',
  ),
  eval_gate_failed: e(
    'conflict',
    'labels',
    'the label requires eval suites that the version does not pass',
    'fix the version and run the suites again, or roll back',
  ),
  not_previously_held: e(
    'unprocessable',
    'labels',
    'a rollback names a version the label never held',
    'roll back to a version the label served (`promptops labels NAME` shows its history)',
  ),
  not_protected: e(
    'unprocessable',
    'labels',
    'the label has no protection to change or remove',
    'protect it first, or name a protected label',
  ),
  nothing_to_roll_back: e(
    'unprocessable',
    'labels',
    'the label has no earlier version to go back to',
    'name a target with --to, or promote instead',
  ),
  reason_required: e(
    'invalid',
    'labels',
    'a forced promotion (break glass) needs a written reason',
    'say why with --reason "…"; it is recorded',
  ),

  // Reviews and policies
  already_approved: e(
    'conflict',
    'reviews',
    'this reviewer has already approved the change request',
    'nothing to do: one verdict per person',
  ),
  already_rejected: e(
    'conflict',
    'reviews',
    'this reviewer has already rejected the change request',
    'nothing to do: one verdict per person',
  ),
  already_serving: e(
    'unprocessable',
    'reviews',
    'the label already serves the requested version',
    'nothing to request; name another version',
  ),
  change_request_not_found: e(
    'not_found',
    'reviews',
    'no change request with this number',
    'see the open ones with `promptops review list`',
  ),
  checks_failed: e(
    'unprocessable',
    'reviews',
    'the change request cannot be merged yet (approvals or evals missing)',
    'see what is missing with `promptops review show ID`',
  ),
  not_an_approver: e('forbidden', 'reviews', "the label's policy does not list this reviewer", 'ask a listed approver'),
  not_author: e(
    'forbidden',
    'reviews',
    'only the author may update or close the change request',
    'ask its author, or open your own',
  ),
  not_open: e('conflict', 'reviews', 'the change request is merged or closed', 'open a new one'),
  nothing_to_update: e('unprocessable', 'reviews', 'the update changes nothing', 'name another version, or leave it'),
  self_approval: e('forbidden', 'reviews', 'the author of a change may not approve it', 'ask another reviewer'),
  stale_review: e(
    'conflict',
    'reviews',
    'the change request now proposes another version than the one reviewed',
    'look at it again: `promptops review show ID`',
  ),
  policy_not_found: e(
    'not_found',
    'reviews',
    'no policy for this label pattern',
    'see the policies with `promptops policy list`',
  ),
  owners_not_found: e(
    'not_found',
    'reviews',
    'no owners rule for this prompt pattern',
    'see the rules with `promptops owners list`',
  ),
  team_not_found: e('not_found', 'reviews', 'no team of this name', 'see the teams with `promptops teams list`'),
  invalid_pattern: e(
    'invalid',
    'reviews',
    'the text is not a prompt name pattern',
    "use a prompt name, or a glob with * or **, e.g. 'support/**'",
  ),

  // Eval suites and runs
  invalid_eval_suite: e(
    'invalid',
    'evals',
    'an eval suite file is invalid; `issues` names each field',
    'correct the fields listed in `issues`',
  ),
  invalid_suite: e('invalid', 'evals', 'an uploaded suite is invalid', 'correct the suite content'),
  invalid_run: e('invalid', 'evals', 'an uploaded eval run is invalid', 'correct the run fields the message names'),
  suite_too_large: e('too_large', 'evals', 'the suite has more cases than allowed', 'split the suite in several'),
  suite_not_found: e(
    'not_found',
    'evals',
    'no eval suite of this name (or version) in the project',
    'upload it with `promptops eval --upload`',
  ),
  run_not_found: e('not_found', 'evals', 'no eval run with this id', 'list runs with `promptops runs list`'),
  case_mismatch: e(
    'unprocessable',
    'evals',
    "the run's cases are not exactly the suite's",
    'upload one result for every case of the suite version named',
  ),
  assertion_mismatch: e(
    'unprocessable',
    'evals',
    "a case's results name other assertions than the suite configures",
    'upload one result per configured assertion, in order',
  ),
  prompt_mismatch: e(
    'unprocessable',
    'evals',
    'the run names another prompt than the suite tests',
    'record runs of a suite against versions of its prompt',
  ),
  version_mismatch: e(
    'unprocessable',
    'evals',
    "the run's version number does not match its sha",
    'send the version number of that sha (or null)',
  ),
  unknown_provider: e(
    'invalid',
    'evals',
    'the suite names a provider promptops does not know',
    'use simulated, openai (any OpenAI-compatible URL) or anthropic',
  ),
  invalid_promptfoo_config: e(
    'invalid',
    'evals',
    'the file is not a promptfoo config promptops can import',
    'pass a promptfooconfig.yaml with prompts, providers and tests',
  ),

  // Rollouts
  invalid_rollout: e(
    'invalid',
    'rollouts',
    'a rollout plan is invalid (a ramp step, a guardrail)',
    'correct the field the message names (ramps are percentages from 0 to 100)',
  ),
  invalid_targeting_rules: e(
    'invalid',
    'rollouts',
    "a rollout's targeting rules are invalid (an operator, a value, a pattern outside the supported subset, a serve)",
    'correct the field the message names (docs/decisions/targeting.md lists operators and patterns)',
  ),
  rollout_transition_invalid: e(
    'conflict',
    'rollouts',
    "the rollout's state does not allow this action (e.g. advancing a finished rollout)",
    'see the rollout, then act on its current state',
  ),
  rollout_not_found: e(
    'not_found',
    'rollouts',
    'no rollout with this id in the project',
    'list them: `promptops rollout list` (GET /api/v1/rollouts)',
  ),
  rollout_active: e(
    'conflict',
    'rollouts',
    'the label already has an active (draft, running or paused) rollout: one at a time per label',
    'abort it (`promptops rollout abort ID`) or wait for it to complete',
  ),

  // Monitors and incidents
  invalid_monitor: e(
    'invalid',
    'incidents',
    "a monitor's settings are invalid (a condition, the window, the action)",
    'correct the field the message names; leave a field out to take its default',
  ),
  monitor_not_found: e(
    'not_found',
    'incidents',
    'no monitor with this id on the prompt',
    'list them: `promptops monitor list NAME`',
  ),
  incident_not_found: e(
    'not_found',
    'incidents',
    'no incident with this id in the project',
    'list them: `promptops incident list` (GET /api/v1/incidents)',
  ),
  incident_resolved: e(
    'conflict',
    'incidents',
    'the incident is already resolved: it cannot be acknowledged or resolved again',
    'open a new incident if the problem is back: `promptops incident open NAME --label L -m ...`',
  ),

  // Webhooks
  invalid_webhook: e(
    'invalid',
    'webhooks',
    "a webhook's url or events are invalid (not an http(s) URL, credentials in it, an unknown event)",
    'correct the field the message names; events are listed in docs/api.md (a family such as rollout.* or * too)',
  ),
  webhook_target_forbidden: e(
    'unprocessable',
    'webhooks',
    'the webhook URL is, or resolves to, a loopback, private, link-local or metadata address (or does not resolve)',
    'use a public address; an operator may allow private targets with PROMPTOPS_WEBHOOK_ALLOW_PRIVATE=1',
  ),
  secret_key_missing: e(
    'unprocessable',
    'webhooks',
    'the server has no PROMPTOPS_SECRET_KEY, which webhook secrets are encrypted with',
    'start the server with PROMPTOPS_SECRET_KEY set to a random value of at least 16 characters',
  ),
  webhook_not_found: e(
    'not_found',
    'webhooks',
    'no webhook with this id in the project',
    'list them: `promptops webhook list` (GET /api/v1/webhooks)',
  ),
  webhook_delivery_not_found: e(
    'not_found',
    'webhooks',
    'the webhook has no delivery with this id',
    'list them: `promptops webhook deliveries ID`',
  ),

  // Gateway
  gateway_provider_unconfigured: e(
    'invalid',
    'gateway',
    "the prompt's model.provider is not in the server's gateway config, or its API key variable is unset",
    'list the provider in the --gateway-config file (PROMPTOPS_GATEWAY_CONFIG) and set its apiKeyEnv variable',
  ),
  upstream_unreachable: e(
    'unavailable',
    'gateway',
    "the gateway could not reach the provider's base URL, or it did not answer in time",
    "retry later; check the provider's baseURL in the gateway config and that it is reachable from the server",
  ),

  // Drift reports
  invalid_drift_input: e(
    'invalid',
    'drift',
    "a drift report's input is invalid (the versions, the outputs, an option)",
    'correct the fields `issues` names; leave an option out to take its default',
  ),
  drift_run_missing: e(
    'conflict',
    'drift',
    'an offline drift report needs a recorded run of the suite on both versions, and one has none',
    'run the suite on that version and record it: `promptops drift NAME A B --suite S` (or `promptops eval run`)',
  ),
  drift_report_not_found: e(
    'not_found',
    'drift',
    'no drift report with this id in the project',
    'list the prompt’s reports: GET /api/v1/prompts/NAME/drift',
  ),

  // Langfuse-compatible API and import
  langfuse_unsupported: e(
    'invalid',
    'langfuse',
    'a Langfuse prompt uses something promptops has no counterpart for (a placeholder message, a role, a partial, a prompt reference, a name), or a promptops prompt served as Langfuse uses slots; 422 for the latter',
    'the message names the field: rewrite it with what promptops supports (docs/decisions/langfuse-compat.md)',
    ['unprocessable'],
  ),
  langfuse_key_mismatch: e(
    'unauthorized',
    'langfuse',
    'the Basic auth public key is not the id of the secret key (the promptops API key)',
    'use the key id (GET /api/v1/me, keyId) as the public key and the API key as the secret key',
  ),
  langfuse_unreachable: e(
    'unavailable',
    'langfuse',
    'import langfuse could not read the Langfuse API (unreachable, refused the keys, or answered an error)',
    'check --host, --public-key and --secret-key, or import an export with --file',
  ),
  invalid_langfuse_export: e(
    'invalid',
    'langfuse',
    'the --file of import langfuse is not a list of Langfuse prompt versions',
    'give a JSON array of prompts as GET /api/public/v2/prompts/{name} returns them (or { "data": [...] })',
  ),

  // Traces
  invalid_otlp: e(
    'invalid',
    'traces',
    'the body is not an OTLP ExportTraceServiceRequest',
    'send OTLP/JSON or protobuf',
  ),
  invalid_gzip: e('invalid', 'traces', 'the gzip body could not be decompressed', 'send a valid gzip body, or none'),
  unsupported_encoding: e(
    'invalid',
    'traces',
    'the Content-Encoding is not supported',
    'send gzip or no Content-Encoding',
  ),
  batch_too_large: e('too_large', 'traces', 'the batch has more events than allowed', 'split it into smaller batches'),
  body_timeout: e(
    'timeout',
    'traces',
    'the body did not arrive in time (or too slowly)',
    'send the whole body within the deadline the fix names',
  ),
  overloaded: e(
    'rate_limited',
    'traces',
    'the server is ingesting as many batches as it takes at once',
    'resend after `Retry-After` seconds; event ids make resends idempotent',
  ),
  unavailable: e(
    'unavailable',
    'traces',
    'the trace writer failed; the batch may be resent whole',
    'resend after `Retry-After` seconds; event ids make resends idempotent',
  ),
  trace_writer_unavailable: e(
    'unavailable',
    'traces',
    'the trace writer thread failed or is closed (the ingest routes answer it as `unavailable`)',
    'resend the batch after a moment',
  ),
  trace_not_found: e(
    'not_found',
    'traces',
    'no trace with this id in the project',
    'list traces with `promptops traces`; old traces are deleted after retention',
  ),

  // Change feed
  cursor_ahead: e(
    'conflict',
    'changes',
    "the cursor is past the project's newest change: the server's history is not the one it came from",
    'drop local state and start again from GET /api/v1/snapshot',
  ),
  too_many_subscribers: e(
    'rate_limited',
    'changes',
    'a change-feed subscriber limit is reached (per key or project: 429; the replica: 503)',
    'close unneeded clients, then retry after `Retry-After` seconds',
    ['unavailable'],
  ),
  prompt_missing: e('internal', 'changes', 'the audit log names a prompt that is not stored', 'run `promptops verify`'),
  version_missing: e(
    'internal',
    'changes',
    'the audit log names a version that is not stored',
    'run `promptops verify`',
  ),

  // Audit log
  head_other_project: e(
    'invalid',
    'audit',
    "the audit head file is of another project than the key's",
    'verify it with a key of that project',
  ),
  invalid_audit_head: e(
    'invalid',
    'audit',
    'the audit head file is not valid',
    'export it again with `promptops verify --export-head`',
  ),
  weak_audit_key: e(
    'invalid',
    'audit',
    'an audit signing key is too short',
    'use a random key of at least the length the message names',
  ),

  // Files
  invalid_prompt_file: e(
    'invalid',
    'files',
    'a prompt file is invalid; `issues` names each field',
    'correct the fields listed in `issues`',
  ),
  invalid_lockfile: e('invalid', 'files', 'the lockfile is not valid', 'regenerate it with `promptops lock`'),
  lockfile_tampered: e(
    'invalid',
    'files',
    "an embedded prompt does not hash to the lockfile's sha",
    'regenerate it with `promptops lock --embed`',
  ),

  // Starting the server
  data_dir_in_use: e(
    'conflict',
    'server',
    'another promptops serve uses this data directory',
    'stop it, or give this one its own --data-dir and --port',
  ),
  port_in_use: e('conflict', 'server', 'the port is taken', 'stop what holds it, or pass another --port'),
  invalid_db_url: e(
    'invalid',
    'server',
    'the database URL is not one promptops accepts',
    'use a SQLite path or a postgres:// URL',
  ),
  invalid_log_level: e('invalid', 'server', 'the log level is unknown', 'use one of the levels the fix lists'),
  invalid_trust_proxy: e(
    'invalid',
    'server',
    'the --trust-proxy value is not understood',
    'use the forms the fix lists',
  ),
  invalid_gateway_config: e(
    'invalid',
    'server',
    'the --gateway-config file (PROMPTOPS_GATEWAY_CONFIG) cannot be read or is not a valid gateway config',
    'fix the field the message names: providers map a name to { baseURL, apiKeyEnv? }',
  ),

  // SDK
  invalid_options: e('invalid', 'sdk', 'a client option is invalid', 'correct the option the message names'),
  unsupported_runtime: e(
    'invalid',
    'sdk',
    'a feature needs node:fs, which this runtime lacks',
    'leave cacheFile out and pass the lockfile as an object',
  ),
  missing_model: e(
    'invalid',
    'sdk',
    'the prompt names no model for the OpenAI helper',
    'set config.model in the prompt, or pass a model',
  ),
  client_closed: e('invalid', 'sdk', 'the client was used after close()', 'create a new client'),
  server_unreachable: e(
    'internal',
    'sdk',
    'no answer from the server (connection refused, DNS, TLS)',
    'check the url and that the server runs; the client keeps serving what it has',
  ),
  server_timeout: e(
    'internal',
    'sdk',
    'the server did not answer in time',
    'check the server; raise the timeout if it is slow',
  ),
  invalid_response: e(
    'internal',
    'sdk',
    'the server answered something that is no promptops answer',
    'check that the url points at a promptops server',
  ),
  stream_closed: e('internal', 'sdk', 'the change stream was closed by the client', 'nothing to do'),
  stream_disconnected: e(
    'internal',
    'sdk',
    'the change stream dropped; the client reconnects',
    'nothing to do unless it persists',
  ),
  stream_idle: e(
    'internal',
    'sdk',
    'the change stream was silent too long; the client reconnects',
    'nothing to do unless it persists',
  ),
  cursor_regressed: e(
    'internal',
    'sdk',
    "the server's change feed is behind the client's; the client reloads the snapshot",
    'nothing to do',
  ),
  snapshot_drift: e(
    'internal',
    'sdk',
    'the snapshot differs from what the change feed built; the client takes the snapshot',
    'nothing to do; report it if frequent',
  ),
  nothing_to_serve: e(
    'internal',
    'sdk',
    'neither the server nor a fallback can serve prompts yet',
    'make the server reachable, or ship a lockfile',
  ),
  missing_version: e(
    'internal',
    'sdk',
    'a label points at a version the snapshot lacks',
    'nothing to do: the client reloads',
  ),
  invalid_event: e('invalid', 'sdk', 'a change event from the server is malformed', 'check the server version'),
  resolve_label_failed: e(
    'internal',
    'sdk',
    "the client's resolveLabel function threw; the default label served that call",
    'fix the function (or the flag system it asks); it must return a label or undefined',
  ),
  invalid_snapshot: e(
    'invalid',
    'sdk',
    'a snapshot (from the server or the cache file) is malformed',
    'delete the cache file; it is rewritten from the server',
  ),
  sha_mismatch: e(
    'invalid',
    'sdk',
    'content does not hash to the sha it is filed under',
    'delete the data; a cache file is rewritten from the server',
  ),
  cache_unreadable: e('invalid', 'sdk', 'the cache file cannot be read', 'check its path and permissions'),
  cache_write_failed: e('internal', 'sdk', 'the cache file cannot be written', 'check its folder and permissions'),
  lockfile_unreadable: e('invalid', 'sdk', 'the fallback lockfile cannot be read', 'check fallback.lockfile'),
  lockfile_not_embedded: e(
    'invalid',
    'sdk',
    'the fallback lockfile pins shas without their content',
    'write it with `promptops lock --embed`',
  ),
  invalid_trace: e('invalid', 'sdk', 'a trace event is invalid or too large and was dropped', 'fix the trace input'),
  invalid_score: e('invalid', 'sdk', 'a score is invalid and was dropped', 'fix the score input'),
  trace_rejected: e(
    'invalid',
    'sdk',
    'the server rejected some trace events',
    'see docs/api.md (Traces) for the event limits',
  ),
  trace_queue_full: e(
    'internal',
    'sdk',
    'the trace queue is full; new events are dropped until it drains',
    'check the server; raise traces.maxQueueSize for bursts',
  ),
  trace_delivery_failed: e(
    'internal',
    'sdk',
    'trace events could not be delivered after every retry',
    'check that the server is reachable; traces.retry.maxAttempts sets the attempts',
  ),
  score_not_delivered: e(
    'internal',
    'sdk',
    'a score could not be delivered (it is not resent)',
    'check that the server is reachable',
  ),

  // CLI
  http_error: e(
    'internal',
    'cli',
    'the server answered an error without a promptops error body',
    'check that --url points at a promptops server',
  ),
  config_not_found: e('invalid', 'cli', 'the config file named by --config does not exist', 'check the path'),
  unreadable_config: e('invalid', 'cli', 'the config file cannot be read', 'check its permissions'),
  invalid_config: e(
    'invalid',
    'cli',
    'promptops.yaml is invalid; `issues` names each field',
    'correct the fields listed in `issues`',
  ),
  invalid_credentials: e(
    'invalid',
    'cli',
    'the stored credentials file cannot be read',
    'check its permissions, or pass --api-key',
  ),
  invalid_url: e('invalid', 'cli', 'the --url is not an http(s) URL', 'use a URL like http://127.0.0.1:4680'),
  invalid_key_id: e(
    'invalid',
    'cli',
    'the text is not a key id',
    'a key id is 16 hex characters; `promptops keys list` shows them',
  ),
  invalid_project: e('invalid', 'cli', 'the text is not a project name', 'use lowercase letters, digits, "_" and "-"'),
  invalid_user: e('invalid', 'cli', 'the text is not a member name', 'use the forms the fix lists'),
  missing_name: e('invalid', 'cli', '--ref needs the prompts to name', 'name them, or use --label'),
  project_mismatch: e(
    'invalid',
    'cli',
    "the project config names another project than the key's",
    'use a key of that project, or correct the config',
  ),
  no_prompt_files: e('invalid', 'cli', 'no prompt files found', 'add prompts/<name>.prompt.yaml, or name the files'),
  not_a_prompt_file: e('invalid', 'cli', 'the named file is not a *.prompt.yaml file', 'name prompt files'),
  invalid_prompt_files: e('invalid', 'cli', 'several prompt files are invalid', 'correct each file listed'),
  duplicate_prompt: e('invalid', 'cli', 'two files define the same prompt', 'keep one of them'),
  unreadable_file: e('invalid', 'cli', 'a file cannot be read', 'check that it exists and is readable'),
  file_not_found: e('invalid', 'cli', 'a named file does not exist', 'check the path'),
  file_exists: e('conflict', 'cli', 'the command would overwrite existing files', 'pass --force, or write elsewhere'),
  invalid_yaml: e(
    'invalid',
    'cli',
    'a file is not valid YAML (reported by `check`)',
    'correct the YAML at the position named',
  ),
  unused_variable: e(
    'invalid',
    'cli',
    'a declared variable is used by no template (reported by `check`)',
    'use it in a template, or remove it',
  ),
  stale_lock: e(
    'conflict',
    'cli',
    'the lockfile does not match the prompt files (reported by `check`)',
    'push, label and run `promptops lock` again',
  ),
  lockfile_not_found: e(
    'invalid',
    'cli',
    'the lockfile cannot be read (reported by `check`)',
    'run `promptops lock`, or point --lock at it',
  ),
  eval_failed: e(
    'unprocessable',
    'cli',
    'a suite failed (reported by `check`)',
    'see each failure with `promptops eval FILE`',
  ),
  eval_gate_refused: e(
    'unprocessable',
    'cli',
    'the eval gate refuses the version for its label (reported by `check`)',
    'fix the prompt so its suites pass without regressing a case',
  ),
  nothing_to_lock: e('invalid', 'cli', 'no prompts to lock', 'push prompts and set their label first'),
  lock_incomplete: e(
    'invalid',
    'cli',
    'some prompts have no version under the label to lock',
    'promote them, or lock another label',
  ),
  local_changes: e(
    'conflict',
    'cli',
    'pull kept a local file that changed since it was pulled',
    'push it first, or pull --force',
  ),
  path_taken: e(
    'conflict',
    'cli',
    'pull would write over a file of another prompt',
    'rename that file, or pull into another folder with --dir',
  ),
  format_not_stable: e(
    'internal',
    'cli',
    'a prompt file would not read back as its sha; nothing was written',
    'report it as a bug, with the prompt content',
  ),
  no_eval_suites: e('not_found', 'cli', 'no eval suites found (for the prompt)', 'add evals/<name>.eval.yaml'),
  invalid_drift_options: e(
    'invalid',
    'cli',
    'promptops drift needs one of --suite (offline) or --window (live), a duration, and an --alpha in (0, 0.2]',
    'e.g. promptops drift NAME v17 v18 --suite greeter-basics, or --window 24h',
  ),
  duplicate_suite: e('invalid', 'cli', 'two suite files of a prompt share a name', 'rename one of them'),
  prompt_file_not_found: e(
    'not_found',
    'cli',
    'no prompt file defines the prompt a suite tests',
    'add it, or run against the registry with --ref',
  ),
  head_not_found: e('invalid', 'cli', 'the audit head file cannot be read', 'check the path given to --against-head'),
  head_unavailable: e('unprocessable', 'cli', 'the server does not report the audit head', 'upgrade the server'),
  audit_log_empty: e(
    'unprocessable',
    'cli',
    'the audit log is empty, so there is no head to export',
    'export the head once the project has history',
  ),
} as const satisfies Record<string, ErrorCodeEntry>;

/** Codes made from a pattern: `http_<status>` (an error answer without a promptops body) and `usage.<reason>` (the CLI's argument parser). */
export const ERROR_CODE_FAMILIES = {
  'http_<status>': e(
    'internal',
    'sdk',
    'the server (or a proxy) answered an error status without a promptops error body; the kind follows the status',
    'check that the url points at a promptops server, and the proxy in between',
  ),
  'usage.<reason>': e(
    'invalid',
    'cli',
    'the command line is malformed (an unknown option, a missing argument…); exits 2',
    'run `promptops --help` (or `promptops <command> --help`)',
  ),
} as const satisfies Record<string, ErrorCodeEntry>;

export type CataloguedCode = keyof typeof ERROR_CATALOGUE;
export type ErrorCode = CataloguedCode | `http_${number}` | `usage.${string}`;

/** The kind a code has: from the catalogue for a catalogued code, any kind for a code known only at run time. */
export type KindOfCode<C extends string> = C extends CataloguedCode
  ? (typeof ERROR_CATALOGUE)[C]['kind'] | (typeof ERROR_CATALOGUE)[C]['also'][number]
  : ErrorKind;

/**
 * A code literal must be in the catalogue (else this names the fix); a code known only at run time
 * (type `string`, e.g. decoded from an answer) passes.
 */
export type CheckedCode<C extends string> = string extends C
  ? C
  : C extends ErrorCode
    ? C
    : 'unknown error code: add it to ERROR_CATALOGUE in packages/core/src/error-catalogue.ts';

/** The catalogue's entry for a code, when it has one. */
export const catalogueEntry = (code: string): ErrorCodeEntry | undefined =>
  Object.hasOwn(ERROR_CATALOGUE, code) ? ERROR_CATALOGUE[code as CataloguedCode] : undefined;
