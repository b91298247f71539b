import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * Users, project memberships, and the user an API key acts as. Users are server-wide (a unique name);
 * a membership gives one user one role in one project. Memberships are mutable (a role changes, a member
 * leaves); every change is recorded in the project's audit log by the service that makes it.
 */
export const accessMigration = (dialect: SqlDialect): Migration => {
  const serialId = dialect.identity;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', serialId)
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addUniqueConstraint('users_name_unique', ['name'])
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('project_id', 'integer', (col) => col.notNull().references('projects.id'))
        .addColumn('user_id', 'integer', (col) => col.notNull().references('users.id'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('display_name', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('created_by', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['project_id', 'user_id'])
        .execute();

      await db.schema
        .alterTable('api_keys')
        .addColumn('user_id', 'integer', (col) => col.references('users.id'))
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('api_keys').dropColumn('user_id').execute();
      await db.schema.dropTable('memberships').execute();
      await db.schema.dropTable('users').execute();
    },
  };
};
