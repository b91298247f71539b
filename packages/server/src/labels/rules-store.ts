import type { Kysely } from 'kysely';
import type { Database, LabelRuleTables } from '../storage/schema.js';
import type { TxScope } from '../storage/transaction.js';

/** A label's rules as stored: JSON of core's rules, a served version as `{ version, sha }`. */
export interface LabelRulesRow {
  readonly projectId: number;
  readonly promptId: number;
  readonly label: string;
  readonly rules: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

export interface LabelRuleReads {
  labelRules(promptId: number, label: string): Promise<LabelRulesRow | undefined>;
  /** Every label with rules in the project, with its prompt's name (for the snapshot). */
  projectLabelRules(projectId: number): Promise<(LabelRulesRow & { readonly name: string })[]>;
}

export interface LabelRuleTx extends LabelRuleReads {
  /** Sets (inserts or replaces) a label's rules. */
  setLabelRules(row: LabelRulesRow): Promise<void>;
  /** Removes a label's rules; false when it had none. */
  clearLabelRules(promptId: number, label: string): Promise<boolean>;
}

export interface LabelRuleStore extends LabelRuleReads {
  inTransaction(scope: TxScope): LabelRuleTx;
}

type RulesDb = Kysely<Database & LabelRuleTables>;

const toRow = (row: {
  project_id: number;
  prompt_id: number;
  label: string;
  rules: string;
  updated_by: string;
  updated_at: string;
}): LabelRulesRow => ({
  projectId: Number(row.project_id),
  promptId: Number(row.prompt_id),
  label: row.label,
  rules: row.rules,
  updatedBy: row.updated_by,
  updatedAt: row.updated_at,
});

const reads = (db: RulesDb): LabelRuleReads => ({
  async labelRules(promptId, label) {
    const row = await db
      .selectFrom('label_rules')
      .selectAll()
      .where('prompt_id', '=', promptId)
      .where('label', '=', label)
      .executeTakeFirst();
    return row && toRow(row);
  },
  async projectLabelRules(projectId) {
    const rows = await db
      .selectFrom('label_rules as r')
      .innerJoin('prompts as p', 'p.id', 'r.prompt_id')
      .selectAll('r')
      .select('p.name')
      .where('r.project_id', '=', projectId)
      .orderBy('p.name')
      .orderBy('r.label')
      .execute();
    return rows.map((row) => ({ ...toRow(row), name: row.name }));
  },
});

const writes = (database: Kysely<Database>): LabelRuleTx => {
  const db: RulesDb = database.withTables<LabelRuleTables>();
  return {
    ...reads(db),
    async setLabelRules(row) {
      const values = { rules: row.rules, updated_by: row.updatedBy, updated_at: row.updatedAt };
      const updated = await db
        .updateTable('label_rules')
        .set(values)
        .where('prompt_id', '=', row.promptId)
        .where('label', '=', row.label)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      await db
        .insertInto('label_rules')
        .values({ project_id: row.projectId, prompt_id: row.promptId, label: row.label, ...values })
        .execute();
    },
    async clearLabelRules(promptId, label) {
      const deleted = await db
        .deleteFrom('label_rules')
        .where('prompt_id', '=', promptId)
        .where('label', '=', label)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },
  };
};

export const createLabelRuleStore = (database: Kysely<Database>): LabelRuleStore => ({
  ...reads(database.withTables<LabelRuleTables>()),
  inTransaction: (scope: TxScope) => writes(scope.db),
});
