import { PromptopsError, type FieldIssue } from '../errors.js';
import { DRIFT_DESCRIPTORS } from './descriptors.js';
import type { DriftOptions, DriftSource } from './input.js';
import type { DriftReport } from './report-types.js';

/**
 * Stored drift reports and the change request's drift check, as the API answers them, and the one rule
 * both sides apply: which descriptors a review policy may require "no drift" on.
 */

/** The sources the API builds reports from. */
export const DRIFT_API_SOURCES = ['offline', 'shadow', 'live'] as const satisfies readonly DriftSource[];
export type DriftApiSource = (typeof DRIFT_API_SOURCES)[number];

export interface DriftVersionRef {
  readonly sha: string;
  readonly version: number;
}

/** `POST /api/v1/drift`. */
export interface DriftRequest {
  readonly prompt: string;
  /**
   * Refs (vN, sha, label): A is the baseline, B the candidate. Required for offline and live; a shadow
   * report takes them from its rollout (given, they must name the rollout's baseline and candidate).
   */
  readonly a?: string;
  readonly b?: string;
  readonly source: DriftApiSource;
  /** offline: the suite whose recorded runs of A and B are paired by case id. */
  readonly suite?: string;
  /** shadow: the rollout whose shadow traces are paired with the baseline traces they name (`shadowOf`). */
  readonly rollout?: string;
  /** live, shadow: a duration back from now (`24h`, `7d`, `90m`) or an ISO time range (shadow: default all). */
  readonly window?: string | { readonly since: string; readonly until?: string };
  readonly options?: Partial<Omit<DriftOptions, 'minSamples'>> & {
    readonly minSamples?: Partial<DriftOptions['minSamples']>;
  };
}

/** One stored report without its body (the prompt's list). */
export interface DriftReportListItem {
  readonly id: string;
  readonly prompt: string;
  readonly a: DriftVersionRef;
  readonly b: DriftVersionRef;
  readonly source: DriftSource;
  readonly suite: string | null;
  /** live (and shadow when asked): the time range read, ISO. */
  readonly window: { readonly since: string; readonly until: string } | null;
  readonly drifted: boolean;
  readonly verdict: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface StoredDriftReport extends DriftReportListItem {
  readonly report: DriftReport;
}

/** One suite's part of a change request's drift check. */
export interface DriftCheckSuite {
  readonly suite: string;
  /** `compared`: a report was built; `missing`: a version has no recorded run of the suite. */
  readonly status: 'compared' | 'missing';
  readonly required: boolean;
  readonly message: string;
  readonly report: DriftReport | null;
  /** The policy's no-drift descriptors that drifted in this report. */
  readonly violations: readonly string[];
}

const STATIC = Object.keys(DRIFT_DESCRIPTORS);
const PREFIXED = /^(mentions|assertion)\.(\*|[A-Za-z0-9_][A-Za-z0-9_.\-:]{0,99})$/;
/** `length.*`, `json.*`, `format.*`: every descriptor under a dotted prefix. */
const GROUPS = [...new Set(STATIC.filter((n) => n.includes('.')).map((n) => `${n.split('.')[0]!}.*`))];

/** The names a policy's `noDrift` accepts, in words (for the error). */
export const NO_DRIFT_FORMS = [
  ...STATIC,
  'mentions.<variable>',
  'assertion.<name>',
  'mentions.*',
  'assertion.*',
  ...GROUPS,
];

/**
 * Checks a policy's `noDrift` list: every entry names a descriptor (`length.chars`, `mentions.user_name`,
 * `assertion.ends-with`…) or a whole prefix (`mentions.*`). Sorted and without repeats; one error names
 * every unknown entry.
 */
export const checkNoDrift = (values: unknown, field = 'noDrift'): string[] => {
  if (values === undefined) return [];
  if (!Array.isArray(values) || values.length > 50) {
    const message = 'must be a list of at most 50 descriptor names, e.g. ["mentions.user_name"]';
    throw new PromptopsError('invalid', 'invalid_request', `${field} ${message}`, {
      fix: `name descriptors: ${NO_DRIFT_FORMS.join(', ')}`,
      issues: [{ path: field, message }],
    });
  }
  const issues: FieldIssue[] = [];
  values.forEach((value: unknown, index) => {
    if (typeof value !== 'string' || !(STATIC.includes(value) || GROUPS.includes(value) || PREFIXED.test(value)))
      issues.push({ path: `${field}[${index}]`, message: `'${String(value)}' is not a drift descriptor` });
  });
  if (issues.length > 0) {
    throw new PromptopsError(
      'invalid',
      'invalid_request',
      `${field} names unknown descriptors: ${issues.map((i) => i.message.split(' ')[0]).join(', ')}`,
      { fix: `name descriptors: ${NO_DRIFT_FORMS.join(', ')}`, issues },
    );
  }
  return [...new Set(values as string[])].sort();
};

/** Whether `name` is one of the policy's no-drift entries (exactly, or under a `prefix.*`). */
export const coveredByNoDrift = (noDrift: readonly string[], name: string): boolean =>
  noDrift.some((entry) => (entry.endsWith('.*') ? name.startsWith(entry.slice(0, -1)) : entry === name));

/** The drifted descriptors of a report that the policy says must not drift. */
export const noDriftViolations = (report: DriftReport, noDrift: readonly string[]): string[] =>
  report.descriptors.filter((d) => d.drifted && coveredByNoDrift(noDrift, d.name)).map((d) => d.name);
