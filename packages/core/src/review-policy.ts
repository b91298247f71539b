import { PromptopsError } from './errors.js';
import { REVIEW_ROLES, type PolicyRecord, type ReviewRole } from './review-records.js';

/**
 * Pure review decisions: which policy and which owners apply to a prompt, who may approve, and whether
 * the approvals suffice. No I/O; the server supplies the rows.
 */

export const ALL_PROMPTS = '*';

const PATTERN = /^[a-z0-9_.\-/*]{1,200}$/;

export const assertPattern = (pattern: string, field = 'pattern'): string => {
  if (!PATTERN.test(pattern) || pattern.includes('***')) {
    throw new PromptopsError('invalid', 'invalid_pattern', `${field} '${pattern}' is not a prompt name pattern`, {
      fix: "use a prompt name, or a glob of name characters with * (one folder level) or ** (any depth), e.g. 'support/**'",
      issues: [{ path: field, message: 'must be a prompt name or glob' }],
    });
  }
  return pattern;
};

const escapeRegExp = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** `*` matches within one folder level, `**` across levels; a lone `*` matches every prompt. */
export const patternMatches = (pattern: string, name: string): boolean => {
  if (pattern === ALL_PROMPTS || pattern === '**') return true;
  if (!pattern.includes('*')) return pattern === name;
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
};

/**
 * How specific a pattern is: an exact name beats any glob; among globs, more literal characters win;
 * ties go to the pattern that sorts first. `*` is the least specific of all.
 */
export const specificity = (pattern: string): number =>
  pattern.includes('*') ? pattern.replaceAll('*', '').length : 1_000_000 + pattern.length;

/** The one entry whose pattern matches `name` most specifically (see `specificity`), if any. */
export const mostSpecific = <T extends { readonly pattern: string }>(
  entries: readonly T[],
  name: string,
): T | undefined =>
  entries
    .filter((entry) => patternMatches(entry.pattern, name))
    .sort((a, b) => specificity(b.pattern) - specificity(a.pattern) || a.pattern.localeCompare(b.pattern))[0];

export const roleAtLeast = (role: ReviewRole, min: ReviewRole): boolean =>
  REVIEW_ROLES.indexOf(role) >= REVIEW_ROLES.indexOf(min);

/** Expands owners (users or team names) to user names; an unknown team name stands for a user. */
export const expandOwners = (
  owners: readonly string[],
  teams: ReadonlyMap<string, readonly string[]>,
): ReadonlySet<string> => {
  const users = new Set<string>();
  for (const owner of owners) {
    const members = teams.get(owner);
    if (members === undefined) users.add(owner);
    else for (const member of members) users.add(member);
  }
  return users;
};

/** Who may approve under a policy: a set of user names, or null for "anyone with the role". */
export const eligibleApprovers = (
  policy: Pick<PolicyRecord, 'owners' | 'codeOwners'>,
  codeOwners: readonly string[] | null,
  teams: ReadonlyMap<string, readonly string[]>,
): ReadonlySet<string> | null => {
  if (policy.owners.length === 0 && !policy.codeOwners) return null;
  const sets: ReadonlySet<string>[] = [];
  if (policy.owners.length > 0) sets.push(expandOwners(policy.owners, teams));
  if (policy.codeOwners) sets.push(expandOwners(codeOwners ?? [], teams));
  // Both given: an approver must satisfy both (listed by the policy and owning the prompt).
  const [first, ...rest] = sets;
  return new Set([...(first ?? [])].filter((user) => rest.every((set) => set.has(user))));
};

export type ApprovalRefusal = 'author' | 'role' | 'not_owner';

/** Why `actor` may not approve, or null when they may. */
export const approvalRefusal = (input: {
  readonly actor: string;
  readonly role: ReviewRole;
  readonly authors: readonly string[];
  readonly policy: Pick<PolicyRecord, 'minRole' | 'authorMayApprove'>;
  readonly eligible: ReadonlySet<string> | null;
}): ApprovalRefusal | null => {
  if (!input.policy.authorMayApprove && input.authors.includes(input.actor)) return 'author';
  if (!roleAtLeast(input.role, input.policy.minRole)) return 'role';
  if (input.eligible !== null && !input.eligible.has(input.actor)) return 'not_owner';
  return null;
};

/** Approvals that count: one per person, by eligible people, never the author unless allowed. */
export const countedApprovals = (
  approvers: readonly string[],
  input: {
    readonly authors: readonly string[];
    readonly authorMayApprove: boolean;
    readonly eligible: ReadonlySet<string> | null;
  },
): string[] =>
  [...new Set(approvers)].filter(
    (who) =>
      (input.authorMayApprove || !input.authors.includes(who)) && (input.eligible === null || input.eligible.has(who)),
  );

/** Latest verdict per person on the current sha: an approval after a rejection replaces it, and vice versa. */
export const standingVerdicts = <T extends { readonly kind: string; readonly actor: string; readonly sha: string }>(
  events: readonly T[],
  sha: string,
): { approved: T[]; rejected: T[] } => {
  const latest = new Map<string, T>();
  for (const event of events) {
    // A new proposed sha voids every earlier verdict, even if the request later returns to an old sha.
    if (event.kind === 'superseded') latest.clear();
    else if (event.sha === sha && (event.kind === 'approved' || event.kind === 'rejected'))
      latest.set(event.actor, event);
  }
  const all = [...latest.values()];
  return { approved: all.filter((e) => e.kind === 'approved'), rejected: all.filter((e) => e.kind === 'rejected') };
};
