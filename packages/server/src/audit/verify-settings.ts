import { differingFields, policyKey, type AuditStory, type Recorded, type VerifyProblem } from '@promptops/core';
import { keyIdOf } from '../auth/keys.js';
import type { AccessReads } from '../access/store.js';
import type { ReviewReads } from '../reviews/store.js';

/**
 * Who may do what, against the audit story: each policy, owners rule, team, key and membership must hold
 * what its latest audit entry recorded (a role raised or a protection dropped in SQL shows here), exist
 * while that entry says it does, and have an entry at all (an admin key planted in SQL shows here).
 */

type Fields = Readonly<Record<string, unknown>>;
type Table = VerifyProblem['table'];

interface Compared<R> {
  readonly table: Table;
  /** What a row is called in messages, e.g. "policy". */
  readonly what: string;
  readonly rows: readonly R[];
  readonly keyOf: (row: R) => string;
  readonly fieldsOf: (row: R) => Fields;
  readonly recorded: ReadonlyMap<string, Recorded<Fields>>;
  /** More about a row than its key, for messages. */
  readonly describe?: (row: R) => string;
}

const compare = <R>(spec: Compared<R>, problems: VerifyProblem[]): void => {
  const { table, what, recorded } = spec;
  const seen = new Set<string>();
  for (const row of spec.rows) {
    const key = spec.keyOf(row);
    seen.add(key);
    const entry = recorded.get(key);
    if (entry === undefined) {
      const shown = spec.describe === undefined ? key : `${key} (${spec.describe(row)})`;
      problems.push({ table, row: key, problem: 'unrecorded', message: `${what} ${shown}: no audit entry records it` });
      continue;
    }
    if (entry.value === null) {
      problems.push({
        table,
        row: key,
        problem: 'unrecorded',
        message: `${what} ${key} exists, but audit entry #${entry.seq} records its deletion`,
      });
      continue;
    }
    const fields = differingFields(entry.value, spec.fieldsOf(row));
    if (fields.length > 0) {
      problems.push({
        table,
        row: key,
        problem: 'altered',
        message: `${what} ${key}: ${fields.join(', ')} differ${fields.length === 1 ? 's' : ''} from audit entry #${entry.seq}`,
      });
    }
  }
  for (const [key, entry] of recorded) {
    if (seen.has(key) || entry.value === null) continue;
    problems.push({
      table,
      row: key,
      problem: 'missing',
      message: `${what} ${key}: audit entry #${entry.seq} records it, but it is not stored`,
    });
  }
};

export const checkSettings = async (
  reads: { readonly access: AccessReads; readonly reviews: ReviewReads },
  projectId: number,
  story: AuditStory,
  problems: VerifyProblem[],
): Promise<{ policies: number; keys: number; members: number }> => {
  const [policies, owners, teams, keys, members] = await Promise.all([
    reads.reviews.listPolicies(projectId),
    reads.reviews.listOwners(projectId),
    reads.reviews.listTeams(projectId),
    reads.access.listProjectKeys(projectId),
    reads.access.listMembers(projectId),
  ]);
  const asFields = (row: object): Fields => row as Fields;
  compare(
    {
      table: 'label_policies',
      what: 'policy',
      rows: policies,
      keyOf: (row) => policyKey(row.label, row.pattern),
      fieldsOf: asFields,
      recorded: story.policies,
    },
    problems,
  );
  compare(
    {
      table: 'code_owners',
      what: 'owners rule',
      rows: owners,
      keyOf: (row) => row.pattern,
      fieldsOf: asFields,
      recorded: story.owners,
    },
    problems,
  );
  compare(
    {
      table: 'teams',
      what: 'team',
      rows: teams,
      keyOf: (row) => row.team,
      fieldsOf: asFields,
      recorded: story.teams,
    },
    problems,
  );
  compare(
    {
      table: 'api_keys',
      what: 'key',
      rows: keys,
      keyOf: (row) => row.keyId,
      fieldsOf: (row) => ({ ...row, user: row.userName }),
      describe: (row) => `${row.name}, ${row.role}`,
      recorded: story.keys,
    },
    problems,
  );
  compare(
    {
      table: 'memberships',
      what: 'member',
      rows: members,
      keyOf: (row) => row.name,
      fieldsOf: asFields,
      recorded: story.members,
    },
    problems,
  );
  // A key is found by the hash of its secret: a hash swapped in SQL would let another secret in.
  for (const key of keys) {
    if (keyIdOf(key.hash) !== key.keyId) {
      problems.push({
        table: 'api_keys',
        row: key.keyId,
        problem: 'altered',
        message: `key ${key.keyId} (${key.name}): its stored hash is not the one its id was made from`,
      });
    }
  }
  return { policies: policies.length + owners.length + teams.length, keys: keys.length, members: members.length };
};
