import type { Kysely, Selectable } from 'kysely';
import type { SqlDialect } from '../storage/dialect.js';
import type { AccessDatabase, ApiKeysTable, Database, MembershipsTable } from '../storage/schema.js';
import { translated } from '../storage/storage-errors.js';
import type { TxScope } from '../storage/transaction.js';
import type {
  AccessKeyRow,
  AccessReads,
  AccessStore,
  AccessTx,
  ApiKeyRow,
  MemberRow,
  NewApiKey,
  Role,
  UserRow,
} from './store.js';

const keySelect = (db: Kysely<AccessDatabase>) =>
  db
    .selectFrom('api_keys')
    .leftJoin('users', 'users.id', 'api_keys.user_id')
    .leftJoin('memberships', (join) =>
      join
        .onRef('memberships.user_id', '=', 'api_keys.user_id')
        .onRef('memberships.project_id', '=', 'api_keys.project_id'),
    )
    .selectAll('api_keys')
    .select(['users.name as user_name', 'memberships.role as member_role']);

type KeyJoinRow = AccessDatabase['api_keys'] & {
  id: number;
  user_name: string | null;
  member_role: string | null;
};

const toKey = (row: KeyJoinRow): AccessKeyRow => ({
  id: row.id,
  projectId: row.project_id,
  keyId: row.key_id,
  hash: row.hash,
  role: row.role as Role,
  name: row.name,
  userId: row.user_id,
  userName: row.user_name,
  memberRole: row.member_role as Role | null,
  createdBy: row.created_by,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
  tenant: row.tenant ?? null,
});

const memberSelect = (db: Kysely<AccessDatabase>) =>
  db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .selectAll('memberships')
    .select('users.name');

const toMember = (row: MembershipsTable & { name: string }): MemberRow => ({
  projectId: row.project_id,
  userId: row.user_id,
  name: row.name,
  displayName: row.display_name,
  role: row.role as Role,
  createdAt: row.created_at,
  createdBy: row.created_by,
  updatedAt: row.updated_at,
});

const toApiKey = (row: Selectable<ApiKeysTable>): ApiKeyRow => ({
  id: row.id,
  projectId: row.project_id,
  keyId: row.key_id,
  hash: row.hash,
  role: row.role as Role,
  name: row.name,
  createdBy: row.created_by,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

/** Reads over any connection (the pool, or a transaction's). */
const accessReads = (database: Kysely<Database>): AccessReads => {
  const db = database as unknown as Kysely<AccessDatabase>;
  return {
    async findApiKey(keyId) {
      const row = await db.selectFrom('api_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
      return row && toApiKey(row);
    },
    async listApiKeys(projectId) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id')
        .execute();
      return rows.map(toApiKey);
    },
    async findKeyForAuth(keyId) {
      const row = await keySelect(db).where('api_keys.key_id', '=', keyId).executeTakeFirst();
      return row && toKey(row as KeyJoinRow);
    },
    async listProjectKeys(projectId) {
      const rows = await keySelect(db).where('api_keys.project_id', '=', projectId).orderBy('api_keys.id').execute();
      return rows.map((row) => toKey(row as KeyJoinRow));
    },
    async getProjectKey(projectId, keyId) {
      const row = await keySelect(db)
        .where('api_keys.project_id', '=', projectId)
        .where('api_keys.key_id', '=', keyId)
        .executeTakeFirst();
      return row && toKey(row as KeyJoinRow);
    },
    async listMembers(projectId) {
      const rows = await memberSelect(db)
        .where('memberships.project_id', '=', projectId)
        .orderBy('users.name')
        .execute();
      return rows.map(toMember);
    },
    async getMember(projectId, name) {
      const row = await memberSelect(db)
        .where('memberships.project_id', '=', projectId)
        .where('users.name', '=', name)
        .executeTakeFirst();
      return row && toMember(row);
    },
  };
};

/** Writes, bound to one open transaction. */
const accessWrites = (database: Kysely<Database>, dialect: SqlDialect): Omit<AccessTx, keyof AccessReads> => {
  const db = database as unknown as Kysely<AccessDatabase>;
  return {
    async lockProjectAccess(projectId) {
      if (!dialect.locksRows) return;
      await db.selectFrom('projects').select('id').where('id', '=', projectId).forNoKeyUpdate().execute();
    },
    async ensureUser(name, at): Promise<UserRow> {
      await db
        .insertInto('users')
        .values({ name, created_at: at })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .execute();
      const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
      return { id: row.id, name: row.name, createdAt: row.created_at };
    },
    async insertMember(member) {
      await db
        .insertInto('memberships')
        .values({
          project_id: member.projectId,
          user_id: member.userId,
          role: member.role,
          display_name: member.displayName,
          created_at: member.createdAt,
          created_by: member.createdBy,
          updated_at: member.createdAt,
        })
        .execute();
    },
    async updateMember(projectId, userId, change, at) {
      await db
        .updateTable('memberships')
        .set({
          ...(change.role === undefined ? {} : { role: change.role }),
          ...(change.displayName === undefined ? {} : { display_name: change.displayName }),
          updated_at: at,
        })
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .execute();
    },
    async deleteMember(projectId, userId) {
      await db.deleteFrom('memberships').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
    },
    async insertApiKey(key: NewApiKey) {
      await translated(() =>
        db
          .insertInto('api_keys')
          .values({
            project_id: key.projectId,
            key_id: key.keyId,
            hash: key.hash,
            role: key.role,
            name: key.name,
            user_id: key.userId,
            tenant: key.tenant ?? null,
            created_by: key.createdBy,
            created_at: key.createdAt,
            last_used_at: null,
            revoked_at: null,
          })
          .execute(),
      );
    },
    async stopApiKey(projectId, keyId, at) {
      // ISO-8601 UTC text compares in time order.
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('project_id', '=', projectId)
        .where('key_id', '=', keyId)
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', at)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async revokeApiKey(projectId, keyId, at) {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('project_id', '=', projectId)
        .where('key_id', '=', keyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
};

/** The access store over Kysely, for both databases, and its writer for one transaction. */
export const createAccessStore = (
  db: Kysely<Database>,
  dialect: SqlDialect,
): AccessStore & { inTransaction(scope: TxScope): AccessTx } => ({
  ...accessReads(db),
  async touchApiKey(keyId, at) {
    await db.updateTable('api_keys').set({ last_used_at: at }).where('key_id', '=', keyId).execute();
  },
  inTransaction: (scope) => ({ ...accessReads(scope.db), ...accessWrites(scope.db, dialect) }),
});
