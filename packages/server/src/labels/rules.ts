import { PromptopsError, labelRules, shortSha, type LabelRuleInput, type TargetingCondition } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { ReviewStore, ReviewTx } from '../reviews/store.js';
import type { Transaction } from '../storage/transaction.js';
import { rollbackPlan } from './rollback-targets.js';
import type { LabelRuleReads, LabelRuleTx, LabelRulesRow } from './rules-store.js';

/**
 * A label's own targeting rules (core's label-rules.ts): set, read and cleared by the deployer role. On a
 * protected label a rule may serve only a version that reached the label through its policy (what a
 * rollback may go back to, or what it serves now) and never another label, whose version moves without
 * this label's review; clearing is always allowed. Each change is an audit entry `label.rules_set`, which
 * the change feed sends as `event: label_rules`. Decision: docs/decisions/targeting.md.
 */

/** A rule as stored and shown: a served version by number and sha. */
export interface StoredLabelRule {
  readonly name?: string;
  readonly when: readonly TargetingCondition[];
  readonly serve: { readonly label: string } | { readonly version: number; readonly sha: string };
}

export interface LabelRulesView {
  readonly name: string;
  readonly label: string;
  /** Empty when the label has none. */
  readonly rules: readonly StoredLabelRule[];
  readonly updatedBy: string | null;
  readonly updatedAt: string | null;
}

export interface LabelRuleStores {
  readonly registry: RegistryStore;
  readonly reviews: ReviewStore;
  readonly labelRules: LabelRuleReads;
  readonly transaction: Transaction<{
    readonly registry: RegistryTx;
    readonly reviews: ReviewTx;
    readonly labelRules: LabelRuleTx;
  }>;
}

export type LabelRuleService = ReturnType<typeof createLabelRuleService>;

const view = (name: string, label: string, row: LabelRulesRow | undefined): LabelRulesView => ({
  name,
  label,
  rules: row === undefined ? [] : (JSON.parse(row.rules) as StoredLabelRule[]),
  updatedBy: row?.updatedBy ?? null,
  updatedAt: row?.updatedAt ?? null,
});

const protectedRefusal = (name: string, label: string, what: string, fix: string): PromptopsError =>
  new PromptopsError('forbidden', 'label_protected', `'${label}' of '${name}' is protected: ${what}`, {
    fix,
    details: { name, label },
  });

export const createLabelRuleService = ({ registry, labelRules: reads, transaction }: LabelRuleStores, clock: Clock) => {
  /** The prompt and its label, locked for the transaction; unknown ones are 404s naming what exists. */
  const lockLabel = async (tx: RegistryTx, actor: Actor, name: string, label: string) => {
    const found = await tx.getPrompt(actor.projectId, name);
    if (!found || found.headSha === null) throw await unknownPrompt(tx, actor.projectId, name);
    const prompt = await tx.lockPrompt(actor.projectId, name, clock.now().toISOString());
    const current = await tx.getLabel(prompt.id, label);
    if (current === undefined) {
      const labels = (await tx.listLabels(prompt.id)).map((l) => l.label);
      throw new PromptopsError('not_found', 'label_not_found', `'${name}' has no label '${label}'`, {
        fix: `promote a version to it first (promptops promote ${name} vN -l ${label}); labels: ${labels.join(', ') || 'none'}`,
        details: { name, label, available: labels },
      });
    }
    return { prompt, current };
  };

  const audit = async (tx: RegistryTx, actor: Actor, name: string, label: string, rules: unknown, at: string) =>
    tx.appendAudit({
      projectId: actor.projectId,
      at,
      actor: actor.name,
      action: 'label.rules_set',
      target: `${name}:${label}`,
      data: { name, label, rules },
    });

  return {
    async get(actor: Actor, name: string, label: string): Promise<LabelRulesView> {
      const prompt = await registry.getPrompt(actor.projectId, name);
      if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
      return view(name, label, await reads.labelRules(prompt.id, label));
    },

    /** Replaces the label's rules (an empty list clears them). */
    async set(actor: Actor, name: string, label: string, input: unknown): Promise<LabelRulesView> {
      const rules: LabelRuleInput[] = labelRules(input);
      if (rules.length === 0) return this.clear(actor, name, label);
      return transaction(async (tx) => {
        const { prompt, current } = await lockLabel(tx.registry, actor, name, label);
        const plan = await rollbackPlan(
          { registry: tx.registry, reviews: tx.reviews },
          actor.projectId,
          prompt,
          label,
          current.sha,
        );
        const stored: StoredLabelRule[] = [];
        for (const rule of rules) {
          const { serve } = rule;
          if ('label' in serve) {
            if (plan.protected) {
              throw protectedRefusal(
                name,
                label,
                `a rule may not serve another label ('${serve.label}'), whose version moves without this label's review`,
                `serve a version that reached '${label}' through review instead: { "version": N }`,
              );
            }
            stored.push({ ...rule, serve });
            continue;
          }
          const target = await resolveRef(tx.registry, prompt, `v${serve.version}`);
          if (plan.protected && target.sha !== current.sha && !plan.choices.targets.includes(target.sha)) {
            throw protectedRefusal(
              name,
              label,
              `v${target.version} (${shortSha(target.sha)}) never reached it through review, so a rule may not serve it`,
              `ship it through review first: promptops review request ${name} v${target.version} --label ${label} -m "why"`,
            );
          }
          stored.push({ ...rule, serve: { version: target.version, sha: target.sha } });
        }
        const at = clock.now().toISOString();
        const row = {
          projectId: actor.projectId,
          promptId: prompt.id,
          label,
          rules: JSON.stringify(stored),
          updatedBy: actor.name,
          updatedAt: at,
        };
        await tx.labelRules.setLabelRules(row);
        await audit(tx.registry, actor, name, label, stored, at);
        return view(name, label, row);
      });
    },

    /** Removes the label's rules; never waits for review. Clearing a label without rules records nothing. */
    async clear(actor: Actor, name: string, label: string): Promise<LabelRulesView> {
      return transaction(async (tx) => {
        const { prompt } = await lockLabel(tx.registry, actor, name, label);
        if (await tx.labelRules.clearLabelRules(prompt.id, label)) {
          await audit(tx.registry, actor, name, label, null, clock.now().toISOString());
        }
        return view(name, label, undefined);
      });
    },
  };
};
