import {
  PromptopsError,
  type AuditHead,
  type DeploymentRecord,
  type DiffResult,
  type EvalGateVerdict,
  type EvalRunInput,
  type EvalRunRecord,
  type EvalSuiteContent,
  type LabelRecord,
  type MoveResult,
  type PromptContent,
  type PromptDetail,
  type PromptListItem,
  type PushResult,
  type RollbackResult,
  type VerifyReport,
  type VersionPage,
  type VersionRecordWithLabels,
  type BlameResult,
  type ChangeRequestStatus,
  type ChangeRequestSummary,
  type ChangeRequestView,
  type OwnersRecord,
  type PolicyRecord,
  type PolicySpec,
  type TeamRecord,
} from '@promptops/core';

import type {
  EvalRunPage,
  EvalSuiteVersion,
  EvalSuiteVersions,
  PushSuiteResult,
  RunComparisonResult,
} from '@promptops/core';
import type { EvalRunQuery, GateQuery } from './eval-api.js';
import { ApiError, HttpClient, type NoAnswer } from '@promptops/core/http-client';
import { nodeFetch, type HttpFetch, type HttpResponse } from './http-transport.js';
import type { MetricsResponse, TraceDetail, TracePage, TraceQuery } from './trace-api.js';

/** A typed client for the HTTP API in docs/api.md. Error bodies become `ApiError`s with the server's code and fix. */

/** One row of `GET /prompts`: the head and where each label points. */

export interface MeResponse {
  readonly project: { readonly id: number; readonly name: string };
  readonly role: string;
  readonly keyId: string;
  readonly keyName: string;
}

/** An error response from the server, with its HTTP status (core's, shared with the SDK and the dashboard). */
export { ApiError };

export interface ApiClientOptions {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:4680. */
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Default: node:http(s) (see http-transport.ts); a real fetch works too. */
  readonly fetch?: HttpFetch | undefined;
  readonly timeoutMs?: number | undefined;
  /** The fix shown on a 401 when no key was sent (says where the CLI looks for one). */
  readonly missingKeyFix?: string | undefined;
}

// Errors that no other prompt would escape: batch commands stop instead of repeating them per prompt.
const FATAL_CODES = new Set(['unauthorized', 'forbidden', 'server_unreachable', 'too_large', 'project_mismatch']);

/** Whether an error ends a batch of per-prompt requests (push, pull, status) rather than one prompt. */
export const isFatal = (error: unknown): boolean => error instanceof PromptopsError && FATAL_CODES.has(error.code);

const seg = (value: string): string => encodeURIComponent(value);

const MiB = 1024 * 1024;

/**
 * The server's request body limits by route (server: app/app.ts BODY_LIMIT, evals/routes.ts
 * RUN_BODY_LIMIT). A body over its limit is refused here, before sending: the server answers 413 as soon
 * as it reads Content-Length and closes the upload, which fetch reports as EPIPE, not as the 413.
 */
const BODY_LIMITS: readonly { readonly path: RegExp; readonly bytes: number; readonly fix: string }[] = [
  { path: /^\/evals\/(runs|suites)$/, bytes: 16 * MiB, fix: 'split the run into smaller ones, or trim case outputs' },
  {
    path: /^\/prompts\/[^/]+\/versions$/,
    bytes: MiB,
    fix: 'shrink the prompt: pass long reference text in a variable, or split it into slots',
  },
];
const bodyLimitOf = (path: string): { bytes: number; fix: string } =>
  BODY_LIMITS.find((limit) => limit.path.test(path)) ?? { bytes: MiB, fix: 'send a smaller request' };

const sizeText = (bytes: number): string =>
  bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${(bytes / MiB).toFixed(1)} MiB`;

export class ApiClient {
  readonly url: string;
  readonly #http: HttpClient<HttpResponse>;

  constructor(options: ApiClientOptions) {
    const url = options.url;
    const missingKeyFix = options.apiKey === undefined ? options.missingKeyFix : undefined;
    this.url = url;
    this.#http = new HttpClient({
      baseUrl: `${url}/api/v1`,
      apiKey: options.apiKey,
      fetch: options.fetch ?? nodeFetch,
      timeoutMs: options.timeoutMs ?? 30_000,
      noAnswer: (failure) => unreachable(url, failure),
      errorContext: (method, path, status, text) => {
        const snippet = text.trim().slice(0, 200);
        const limit = bodyLimitOf(path);
        return {
          fallbackCode: status === 413 ? 'too_large' : 'http_error',
          fallbackMessage: `${method} ${path} failed with HTTP ${status}${snippet === '' ? '' : `: ${snippet}`}`,
          fallbackFix:
            status === 413
              ? `the request body exceeds the server's limit (${sizeText(limit.bytes)} on this route, or a proxy's): ${limit.fix}`
              : `check that ${url} is a promptops server`,
        };
      },
      onError: (error) =>
        error.status === 401 && missingKeyFix !== undefined ? withFix(error, missingKeyFix) : undefined,
    });
  }

  me(): Promise<MeResponse> {
    return this.#request('GET', '/me');
  }

  /** Every prompt of the project with its head and labels. */
  async listPrompts(): Promise<readonly PromptListItem[]> {
    return (await this.#request<{ prompts: readonly PromptListItem[] }>('GET', '/prompts')).prompts;
  }

  /** The prompt's head and labels, or undefined when the project has no such prompt. */
  async getPrompt(name: string): Promise<PromptDetail | undefined> {
    try {
      return await this.#request<PromptDetail>('GET', `/prompts/${seg(name)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.code === 'prompt_not_found') return undefined;
      throw error;
    }
  }

  pushVersion(
    name: string,
    body: { content: PromptContent; parent: string | null; message?: string | undefined },
  ): Promise<PushResult> {
    return this.#request('POST', `/prompts/${seg(name)}/versions`, body);
  }

  listVersions(name: string, page: { limit?: number; before?: number } = {}): Promise<VersionPage> {
    return this.#request('GET', `/prompts/${seg(name)}/versions`, undefined, page);
  }

  getVersion(name: string, ref: string): Promise<VersionRecordWithLabels> {
    return this.#request('GET', `/prompts/${seg(name)}/versions/${seg(ref)}`);
  }

  /** The version with exactly this sha, or undefined when the prompt (or that version) does not exist. */
  async findVersion(name: string, sha: string): Promise<VersionRecordWithLabels | undefined> {
    try {
      return await this.getVersion(name, sha);
    } catch (error) {
      if (
        error instanceof ApiError &&
        error.status === 404 &&
        (error.code === 'version_not_found' || error.code === 'prompt_not_found')
      ) {
        return undefined;
      }
      throw error;
    }
  }

  diff(name: string, from: string, to: string): Promise<DiffResult> {
    return this.#request('GET', `/prompts/${seg(name)}/diff`, undefined, { from, to });
  }

  labels(name: string): Promise<{ labels: readonly LabelRecord[] }> {
    return this.#request('GET', `/prompts/${seg(name)}/labels`);
  }

  deployments(name: string, label?: string): Promise<{ deployments: readonly DeploymentRecord[] }> {
    return this.#request('GET', `/prompts/${seg(name)}/deployments`, undefined, label === undefined ? {} : { label });
  }

  setLabel(
    name: string,
    label: string,
    body: { ref: string; reason?: string | undefined; force?: boolean | undefined },
  ): Promise<MoveResult> {
    return this.#request('PUT', `/prompts/${seg(name)}/labels/${seg(label)}`, body);
  }

  rollback(
    name: string,
    label: string,
    body: { to?: string | undefined; reason?: string | undefined },
  ): Promise<RollbackResult> {
    return this.#request('POST', `/prompts/${seg(name)}/labels/${seg(label)}/rollback`, body);
  }

  // ---- Review gates ----

  listPolicies(label?: string): Promise<{ policies: readonly PolicyRecord[] }> {
    return this.#request('GET', '/policies', undefined, { label });
  }

  getPolicies(
    label: string,
    prompt?: string,
  ): Promise<{ label: string; policies: readonly PolicyRecord[]; effective?: PolicyRecord | null }> {
    return this.#request('GET', `/policies/${seg(label)}`, undefined, { prompt });
  }

  setPolicy(
    label: string,
    body: Partial<PolicySpec>,
  ): Promise<{ policy: PolicyRecord; previous: PolicyRecord | null }> {
    return this.#request('PUT', `/policies/${seg(label)}`, body);
  }

  deletePolicy(label: string, pattern?: string): Promise<{ deleted: true }> {
    return this.#request('DELETE', `/policies/${seg(label)}`, undefined, { pattern });
  }

  listOwners(): Promise<{ owners: readonly OwnersRecord[] }> {
    return this.#request('GET', '/owners');
  }

  setOwners(pattern: string, owners: readonly string[]): Promise<OwnersRecord> {
    return this.#request('PUT', '/owners', { pattern, owners });
  }

  deleteOwners(pattern: string): Promise<{ deleted: true }> {
    return this.#request('DELETE', '/owners', undefined, { pattern });
  }

  listTeams(): Promise<{ teams: readonly TeamRecord[] }> {
    return this.#request('GET', '/teams');
  }

  setTeam(team: string, members: readonly string[]): Promise<TeamRecord> {
    return this.#request('PUT', `/teams/${seg(team)}`, { members });
  }

  deleteTeam(team: string): Promise<{ deleted: true }> {
    return this.#request('DELETE', `/teams/${seg(team)}`);
  }

  listReviews(query: {
    status?: ChangeRequestStatus | undefined;
    name?: string | undefined;
    label?: string | undefined;
    limit?: number | undefined;
  }): Promise<{ changeRequests: readonly ChangeRequestSummary[]; nextBefore: number | null }> {
    return this.#request('GET', '/reviews', undefined, query);
  }

  openReview(body: {
    name: string;
    ref: string;
    label: string;
    message?: string | undefined;
  }): Promise<ChangeRequestView> {
    return this.#request('POST', '/reviews', body);
  }

  getReview(id: number): Promise<ChangeRequestView> {
    return this.#request('GET', `/reviews/${id}`);
  }

  reviewAction(
    id: number,
    action: 'approve' | 'reject' | 'update' | 'merge' | 'close',
    body: { comment?: string | undefined; ref?: string | undefined; sha?: string | undefined },
  ): Promise<ChangeRequestView> {
    return this.#request('POST', `/reviews/${id}/${action}`, body);
  }

  blame(name: string, query: { label?: string | undefined; ref?: string | undefined }): Promise<BlameResult> {
    return this.#request('GET', `/prompts/${seg(name)}/blame`, undefined, query);
  }

  /** With `against`, the report also says whether the chain still extends that exported head. */
  verify(against?: AuditHead): Promise<VerifyReport> {
    return this.#request('GET', '/verify', undefined, {
      againstSeq: against?.seq,
      againstHash: against?.hash,
      againstSignature: against?.signature,
      againstProject: against?.project,
    });
  }

  listTraces(query: TraceQuery): Promise<TracePage> {
    return this.#request('GET', '/traces', undefined, query);
  }

  getTrace(id: string): Promise<TraceDetail> {
    return this.#request('GET', `/traces/${seg(id)}`);
  }

  metrics(name: string, query: TraceQuery): Promise<MetricsResponse> {
    return this.#request('GET', `/prompts/${seg(name)}/metrics`, undefined, query);
  }

  /** Registers a suite version (content-addressed: pushing the same content again returns it, `created: false`). */
  pushSuite(content: EvalSuiteContent, message?: string): Promise<PushSuiteResult> {
    return this.#request('POST', '/evals/suites', { content, message });
  }

  async listSuites(): Promise<readonly EvalSuiteVersion[]> {
    return (await this.#request<{ suites: readonly EvalSuiteVersion[] }>('GET', '/evals/suites')).suites;
  }

  suiteVersions(name: string): Promise<EvalSuiteVersions> {
    return this.#request('GET', `/evals/suites/${seg(name)}`);
  }

  /** Records a run; the server re-scores it and answers with its own `passed` and `summary` (needs `evals:write`). */
  uploadRun(input: EvalRunInput): Promise<EvalRunRecord> {
    return this.#request('POST', '/evals/runs', input);
  }

  listRuns(query: EvalRunQuery = {}): Promise<EvalRunPage> {
    return this.#request('GET', '/evals/runs', undefined, { ...query });
  }

  getRun(id: string): Promise<EvalRunRecord> {
    return this.#request('GET', `/evals/runs/${seg(id)}`);
  }

  /** Which cases regressed (pass -> fail) and which were fixed from run `baseId` to run `id`. */
  compareRuns(baseId: string, id: string): Promise<RunComparisonResult> {
    return this.#request('GET', `/evals/runs/${seg(id)}/compare/${seg(baseId)}`);
  }

  /** The eval gate's verdict: may `ref` of prompt `name` move to `label`, given the required suites? */
  gate(name: string, query: GateQuery): Promise<EvalGateVerdict> {
    return this.#request('GET', `/prompts/${seg(name)}/gate`, undefined, {
      ref: query.ref,
      label: query.label,
      suite: query.suites,
    });
  }

  /** Any route of docs/api.md under /api/v1; feature modules (e.g. `access-api.ts`) type their calls on it. */
  request<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Readonly<Record<string, string | number | undefined>> = {},
  ): Promise<T> {
    return this.#request<T>(method, path, body, query);
  }

  /** A route answering text rather than JSON (e.g. an incident's Markdown postmortem). */
  async requestText(method: string, path: string): Promise<string> {
    const { response, text } = await this.#http.read(method, path);
    if (!response.ok) throw this.#http.error(method, path, response, text);
    return text;
  }

  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Readonly<Record<string, string | number | readonly string[] | undefined>> = {},
  ): Promise<T> {
    // JSON.stringify drops undefined fields, which is what optional body fields mean.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      const size = Buffer.byteLength(payload);
      const limit = bodyLimitOf(path);
      if (size > limit.bytes) {
        throw new PromptopsError(
          'too_large',
          'too_large',
          `${method} ${path}: the request body is ${sizeText(size)}; the server takes at most ${sizeText(limit.bytes)} on this route`,
          { fix: limit.fix, details: { sizeBytes: size, limitBytes: limit.bytes } },
        );
      }
    }
    return this.#http.json<T>(method, path, { query, body: payload });
  }
}

const unreachable = (url: string, failure: NoAnswer): PromptopsError => {
  const reason =
    failure.timeoutMs !== undefined ? `no answer within ${failure.timeoutMs} ms` : (failure.cause ?? failure.message);
  return new PromptopsError(
    'internal',
    'server_unreachable',
    `cannot reach the promptops server at ${url} (${reason})`,
    {
      fix: 'start it with `promptops serve`, or point --url / PROMPTOPS_URL at a running server',
    },
  );
};

const withFix = (error: ApiError, fix: string): ApiError =>
  new ApiError(error.status, error.code, error.message, {
    kind: error.kind,
    fix,
    ...(error.issues === undefined ? {} : { issues: error.issues }),
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });
