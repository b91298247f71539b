import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * `promptops trace ID` takes the OpenTelemetry trace id a tracing UI shows, so traces are looked up by
 * trace id too (`GET /api/v1/traces?traceId=`). Partial: spans without one (most direct ingests) cost
 * the index nothing.
 */
export const traceIdIndexMigration = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('traces_trace_id')
      .on('traces')
      .columns(['project_id', 'trace_id'])
      .where(sql.ref('trace_id'), 'is not', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('traces_trace_id').execute();
  },
});
