import { randomBytes } from 'node:crypto';
import {
  PromptopsError,
  decide,
  evaluateGuardrails,
  gateFailureMessages,
  newRollout,
  rolloutArmFigures,
  srmCounts,
  summarizeShadowPairs,
  targetingRules,
  transitionRollout,
  type RolloutConfig,
  type RolloutDecision,
  type RolloutState,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { EvalGate } from '../evals/gate.js';
import { moveLabel } from '../labels/move.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import { effectivePolicy } from '../reviews/policies.js';
import type { ReviewStore, ReviewTx } from '../reviews/store.js';
import { StorageConflictError } from '../storage/storage-errors.js';
import type { Transaction } from '../storage/transaction.js';
import type { RolloutObservationSource } from './observations.js';
import { planOf, type RolloutPlanInput } from './plan.js';
import {
  ROLLOUT_AUDIT_ACTIONS,
  coreRollout,
  rolloutAuditData,
  toDecisionView,
  toRolloutView,
  type RolloutView,
} from './records.js';
import type { DecisionAction, RolloutRow, RolloutStore, RolloutTx } from './store.js';

/** The name decisions the scheduler takes are recorded under. */
export const SYSTEM_ACTOR = 'system:rollouts';

export interface StartRolloutInput extends RolloutPlanInput {
  readonly label: string;
  /** A ref: vN, a sha (prefix) or a label. */
  readonly candidate: string;
  readonly salt?: string;
  readonly reason?: string;
}

export interface RolloutStores {
  readonly registry: RegistryStore;
  readonly reviews: ReviewStore;
  readonly rollouts: RolloutStore;
  readonly transaction: Transaction<{
    readonly registry: RegistryTx;
    readonly reviews: ReviewTx;
    readonly rollouts: RolloutTx;
  }>;
}

export interface RolloutServiceOptions {
  /** Per-arm figures from traces; read on every call, so it can be wired after the service is built. */
  readonly observations?: () => RolloutObservationSource | undefined;
  /** For tests: the ids of new rollouts. */
  readonly newId?: () => string;
}

export type RolloutService = ReturnType<typeof createRolloutService>;

type ManualAction = 'pause' | 'resume' | 'advance' | 'abort';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const newRolloutId = (): string => `ro_${[...randomBytes(12)].map((byte) => BASE32[byte % 32]).join('')}`;

const MAX_REASON = 2000;
/** Shadow pairs read for a rollout's summary: the newest this many. */
const SHADOW_PAIRS_READ = 500;
const reasonOf = (reason: string | undefined, fallback: string): string =>
  reason === undefined || reason.trim() === '' ? fallback : reason.slice(0, MAX_REASON);

const notFound = (id: string): PromptopsError =>
  new PromptopsError('not_found', 'rollout_not_found', `no rollout ${id} in this project`, {
    fix: 'list them: GET /api/v1/rollouts (promptops rollout list)',
    details: { rolloutId: id },
  });

const active = (name: string, label: string, id: string): PromptopsError =>
  new PromptopsError(
    'conflict',
    'rollout_active',
    `'${label}' of '${name}' already has an active rollout (${id}): one at a time per label`,
    {
      fix: `finish it first: POST /api/v1/rollouts/${id}/abort (promptops rollout abort ${id}), or wait for it to complete`,
      details: { rolloutId: id, name, label },
    },
  );

/** `moveLabel` records only the project and the name of whoever moves the label. */
const moverOf = (projectId: number, name: string): Actor => ({ projectId, name }) as Actor;

export const createRolloutService = (
  stores: RolloutStores,
  clock: Clock,
  evalGate: EvalGate,
  options: RolloutServiceOptions = {},
) => {
  const { registry, reviews, rollouts, transaction } = stores;
  const makeId = options.newId ?? newRolloutId;

  /** The decision row, and for a change of state or ramp its audit entry, in the caller's transaction. */
  const record = async (
    tx: { registry: RegistryTx; rollouts: RolloutTx },
    row: RolloutRow,
    action: DecisionAction,
    actor: string,
    reason: string,
    figures: unknown,
  ): Promise<void> => {
    const at = clock.now().toISOString();
    await tx.rollouts.insertDecision({
      rolloutId: row.id,
      projectId: row.projectId,
      at,
      action,
      actor,
      reason,
      figures,
    });
    const audit =
      action === 'manual-advance'
        ? ROLLOUT_AUDIT_ACTIONS.advance
        : action === 'hold'
          ? undefined
          : ROLLOUT_AUDIT_ACTIONS[action];
    if (audit === undefined) return;
    await tx.registry.appendAudit({
      projectId: row.projectId,
      at,
      actor,
      action: audit,
      target: `${row.name}:${row.label}`,
      data: { ...rolloutAuditData(row), decision: action },
    });
  };

  /** The rollout moves to `state` (and step); writes the row. */
  const update = (
    tx: { rollouts: RolloutTx },
    row: RolloutRow,
    next: {
      state: RolloutState;
      stepIndex: number;
      stepStartedAt: string | null;
      reason: string | null;
      killed?: boolean;
    },
  ): Promise<RolloutRow> => {
    const now = clock.now().toISOString();
    const ended = next.state === 'completed' || next.state === 'aborted';
    return tx.rollouts.updateRollout(row.projectId, row.id, {
      ...next,
      updatedAt: now,
      ...(ended ? { endedAt: now } : {}),
    });
  };

  /** Completion: the label moves to the candidate as a `rollout` deployment, then the rollout ends. */
  const complete = async (
    tx: { registry: RegistryTx; rollouts: RolloutTx },
    row: RolloutRow,
    actor: string,
    reason: string,
    figures: unknown,
  ): Promise<RolloutRow> => {
    const prompt = await tx.registry.lockPrompt(row.projectId, row.name, clock.now().toISOString());
    const target = await tx.registry.getVersionBySha(row.promptId, row.candidateSha);
    const current = await tx.registry.getLabel(row.promptId, row.label);
    if (current?.sha !== row.candidateSha) {
      await moveLabel(tx.registry, clock, {
        actor: moverOf(row.projectId, actor),
        prompt,
        label: row.label,
        current,
        target: target!,
        kind: 'rollout',
        reason: `rollout ${row.id}: ${reason}`.slice(0, MAX_REASON),
      });
    }
    const done = transitionRollout(coreRollout(row), 'complete', clock.now(), reason);
    const ended = await update(tx, row, done);
    await record(tx, ended, 'complete', actor, reason, figures);
    return ended;
  };

  /** Split rollouts serve users: a protected label's policy applies as to a promote. */
  const checkPolicy = async (actor: Actor, name: string, label: string, sha: string, labelSha: string | null) => {
    const policy = await effectivePolicy(reviews, actor.projectId, label, name);
    if (policy === null) return;
    const verdict =
      policy.suites.length === 0
        ? null
        : await evalGate.check({
            projectId: actor.projectId,
            prompt: name,
            sha,
            label,
            labelSha,
            suites: policy.suites,
          });
    const failing = verdict !== null && !verdict.passed ? gateFailureMessages(verdict) : null;
    if (policy.protected && (policy.approvals > 0 || failing !== null)) {
      throw new PromptopsError(
        'forbidden',
        'label_protected',
        `'${label}' of '${name}' is protected: a split rollout serves users, so it needs an approved change request${failing === null ? '' : `; its eval gate also fails: ${failing}`}`,
        {
          fix: `propose it for review: POST /api/v1/reviews with { name, ref, label, rollout: { mode: "split", … } }; or run a shadow rollout first (mode "shadow" serves nothing to users)`,
          details: { name, label, policy, ...(verdict === null ? {} : { evals: verdict }) },
        },
      );
    }
    if (failing !== null) {
      throw new PromptopsError(
        'conflict',
        'eval_gate_failed',
        `'${label}' of '${name}' requires passing eval suites: ${failing}`,
        {
          fix: 'fix the candidate and run the suites again (promptops eval), or run a shadow rollout',
          details: { name, label, evals: verdict },
        },
      );
    }
  };

  /** A new running rollout with its start decision and audit entry, in the caller's transaction (prompt locked). */
  const insertStarted = async (
    tx: { registry: RegistryTx; rollouts: RolloutTx },
    actor: Actor,
    prompt: { readonly id: number; readonly name: string },
    plan: {
      readonly label: string;
      readonly baselineSha: string;
      readonly candidate: { readonly sha: string; readonly version: number };
      readonly config: RolloutConfig;
      readonly salt?: string | undefined;
      readonly reason: string;
    },
  ): Promise<RolloutRow> => {
    const current = await tx.rollouts.activeRollout(actor.projectId, prompt.id, plan.label);
    if (current !== undefined) throw active(prompt.name, plan.label, current.id);
    const id = makeId();
    const now = clock.now();
    const started = transitionRollout(newRollout(id, plan.config, plan.salt ?? id), 'start', now);
    const row = await tx.rollouts.insertRollout({
      id,
      projectId: actor.projectId,
      promptId: prompt.id,
      label: plan.label,
      mode: plan.config.mode,
      baselineSha: plan.baselineSha,
      candidateSha: plan.candidate.sha,
      candidateVersion: plan.candidate.version,
      salt: started.salt,
      config: plan.config,
      state: started.state,
      stepIndex: started.stepIndex,
      stepStartedAt: started.stepStartedAt,
      reason: null,
      createdBy: actor.name,
      createdAt: now.toISOString(),
    });
    await record(tx, row, 'start', actor.name, plan.reason, { plan: plan.config });
    return row;
  };

  const start = async (actor: Actor, name: string, input: StartRolloutInput): Promise<RolloutView> => {
    const config = planOf(input);
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    const candidate = await resolveRef(registry, prompt, input.candidate);
    const baseline = await registry.getLabel(prompt.id, input.label);
    if (baseline === undefined) {
      throw new PromptopsError(
        'not_found',
        'label_not_found',
        `'${name}' has no label '${input.label}' to roll out on`,
        {
          fix: `promote a version to it first (promptops promote ${name} vN --label ${input.label}): the label is the baseline`,
          issues: [{ path: 'label', message: `'${name}' has no label '${input.label}'` }],
        },
      );
    }
    if (baseline.sha === candidate.sha) {
      throw new PromptopsError(
        'invalid',
        'invalid_rollout',
        `the candidate v${candidate.version} is what '${input.label}' already serves`,
        {
          fix: 'name another version as the candidate',
          issues: [{ path: 'candidate', message: `is what '${input.label}' serves` }],
        },
      );
    }
    if (config.mode === 'split') await checkPolicy(actor, name, input.label, candidate.sha, baseline.sha);
    const reason = reasonOf(input.reason, `started by ${actor.name}`);
    try {
      return await transaction(async (tx) => {
        await tx.registry.lockPrompt(actor.projectId, name, clock.now().toISOString());
        const moved = await tx.registry.getLabel(prompt.id, input.label);
        if (moved?.sha !== baseline.sha) {
          throw new PromptopsError(
            'conflict',
            'label_moved',
            `'${input.label}' of '${name}' moved while the rollout was starting`,
            {
              fix: 'start it again',
            },
          );
        }
        const row = await insertStarted(
          tx,
          actor,
          { id: prompt.id, name },
          {
            label: input.label,
            baselineSha: baseline.sha,
            candidate,
            config,
            salt: input.salt,
            reason,
          },
        );
        return toRolloutView(row);
      });
    } catch (error) {
      if (error instanceof StorageConflictError && error.reason === 'unique_violation') {
        const current = await rollouts.activeRollout(actor.projectId, prompt.id, input.label);
        throw active(name, input.label, current?.id ?? 'unknown');
      }
      throw error;
    }
  };

  /** A person's pause, resume, advance or abort; none waits for review. */
  const act = async (actor: Actor, id: string, action: ManualAction, reason?: string): Promise<RolloutView> =>
    transaction(async (tx) => {
      const row = await tx.rollouts.lockRollout(actor.projectId, id);
      if (row === undefined) throw notFound(id);
      const why = reasonOf(reason, `${action} by ${actor.name}`);
      const rollout = coreRollout(row);
      if (action === 'advance') {
        const next = row.config.steps[row.stepIndex + 1];
        if (row.state === 'running' && (next === undefined || next >= 100)) {
          return toRolloutView(await complete(tx, row, actor.name, why, null));
        }
      }
      const moved = transitionRollout(rollout, action, clock.now(), why);
      // Resuming is how a killed rollout serves its arms again.
      const updated = await update(tx, row, action === 'resume' && row.killed ? { ...moved, killed: false } : moved);
      await record(tx, updated, action === 'advance' ? 'manual-advance' : action, actor.name, why, null);
      return toRolloutView(updated);
    });

  const notActive = (row: RolloutRow, what: string): PromptopsError =>
    new PromptopsError('conflict', 'rollout_transition_invalid', `rollout ${row.id} is ${row.state}: ${what}`, {
      fix: 'see it with GET /api/v1/rollouts/ID (promptops rollout show ID); a finished rollout serves nothing to steer',
      details: { rolloutId: row.id, state: row.state },
    });

  /**
   * Sets (or, with null or [], clears) a rollout's targeting rules. A rule serving another label's
   * version is refused on a protected label: it would serve users what no review approved.
   */
  const setRules = async (actor: Actor, id: string, input: unknown, reason?: string): Promise<RolloutView> => {
    const checked = input === null ? [] : targetingRules(input);
    const rules = checked.length === 0 ? null : checked;
    // A rollout's prompt and label never change, so its policy is read before the transaction.
    const target = await rollouts.getRollout(actor.projectId, id);
    if (target === undefined) throw notFound(id);
    const serving = (rules ?? []).flatMap((rule, i) => ('label' in rule.serve ? [`rules[${i}]`] : []));
    if (serving.length > 0) {
      const policy = await effectivePolicy(reviews, actor.projectId, target.label, target.name);
      if (policy?.protected === true) {
        throw new PromptopsError(
          'forbidden',
          'label_protected',
          `'${target.label}' of '${target.name}' is protected: ${serving.join(', ')} would serve another label's version to its users without review`,
          {
            fix: 'serve an arm instead ({ "arm": "candidate" } or { "percentage": n }), whose candidate the rollout already passed review with',
            details: { name: target.name, label: target.label, rules: serving },
          },
        );
      }
    }
    return transaction(async (tx) => {
      const row = await tx.rollouts.lockRollout(actor.projectId, id);
      if (row === undefined) throw notFound(id);
      if (row.state !== 'draft' && row.state !== 'running' && row.state !== 'paused') {
        throw notActive(row, 'rules can be set on a draft, running or paused rollout only');
      }
      const updated = await tx.rollouts.updateRollout(row.projectId, row.id, {
        rules,
        updatedAt: clock.now().toISOString(),
      });
      const why = reasonOf(reason, rules === null ? `rules cleared by ${actor.name}` : `rules set by ${actor.name}`);
      await record(tx, updated, 'rules', actor.name, why, { rules });
      return toRolloutView(updated);
    });
  };

  /**
   * The kill switch: everyone is served the baseline at once (rules and ramp aside), and a running
   * rollout is paused so the scheduler leaves it alone; `resume` turns the switch off. Killing a killed
   * rollout changes nothing and records nothing.
   */
  const kill = async (actor: Actor, id: string, reason?: string): Promise<RolloutView> =>
    transaction(async (tx) => {
      const row = await tx.rollouts.lockRollout(actor.projectId, id);
      if (row === undefined) throw notFound(id);
      if (row.state !== 'running' && row.state !== 'paused') {
        throw notActive(row, 'only a running or paused rollout serves anyone, so only one can be killed');
      }
      if (row.killed) return toRolloutView(row);
      const why = reasonOf(reason, `killed by ${actor.name}`);
      const rollout = coreRollout(row);
      const paused = row.state === 'running' ? transitionRollout(rollout, 'pause', clock.now(), why) : rollout;
      const updated = await update(tx, row, { ...paused, killed: true });
      await record(tx, updated, 'kill', actor.name, why, null);
      return toRolloutView(updated);
    });

  /**
   * One look by the scheduler: the figures, core's decide(), and its verdict applied with its decision
   * row and audit entry in one transaction. The rollout is re-read under its lock, so a change made in
   * between (a person's pause, another replica's tick) is decided on, never overwritten. A hold is
   * recorded only when it says something new (another cause or step than the last decision).
   */
  const tick = async (projectId: number, id: string): Promise<RolloutDecision | undefined> => {
    const source = options.observations?.();
    if (source === undefined) return undefined;
    const before = await rollouts.getRollout(projectId, id);
    if (before?.state !== 'running' || before.stepStartedAt === null) return undefined;
    const [sinceStep, sinceStart] = await Promise.all([
      source.rolloutObservations(projectId, id, Date.parse(before.stepStartedAt)),
      source.rolloutObservations(projectId, id, Date.parse(before.createdAt)),
    ]);
    return transaction(async (tx) => {
      const row = await tx.rollouts.lockRollout(projectId, id);
      if (
        row?.state !== 'running' ||
        row.stepIndex !== before.stepIndex ||
        row.stepStartedAt !== before.stepStartedAt
      ) {
        return undefined; // it changed since the figures were read: the next tick decides on the new state
      }
      const now = clock.now();
      const decision = decide(
        coreRollout(row),
        {
          stepSamples: sinceStep.requests,
          ...srmCounts(sinceStep),
          metrics: sinceStart.metrics,
        },
        now,
      );
      if (decision.action === 'complete') {
        await complete(tx, row, SYSTEM_ACTOR, decision.reason, decision);
        return decision;
      }
      if (decision.action === 'hold') {
        const last = (await tx.rollouts.listDecisions(projectId, id)).at(-1);
        const said = last?.figures as Partial<RolloutDecision> | null | undefined;
        if (last?.action === 'hold' && said?.cause === decision.cause && said.step?.index === decision.step.index) {
          return decision;
        }
        await record(tx, row, 'hold', SYSTEM_ACTOR, decision.reason, decision);
        return decision;
      }
      const moved = transitionRollout(coreRollout(row), decision.action, now, decision.reason);
      const updated = await update(tx, row, moved);
      await record(tx, updated, decision.action, SYSTEM_ACTOR, decision.reason, decision);
      return decision;
    });
  };

  const show = async (actor: Actor, id: string) => {
    const row = await rollouts.getRollout(actor.projectId, id);
    if (row === undefined) throw notFound(id);
    const decisions = (await rollouts.listDecisions(actor.projectId, id)).map(toDecisionView);
    const source = options.observations?.();
    const figures =
      source === undefined
        ? undefined
        : await source.rolloutObservations(actor.projectId, id, Date.parse(row.createdAt));
    const { config } = row;
    // No figures (null, not zeros) until a trace of the rollout is recorded.
    const seen = figures !== undefined && figures.requests.baseline + figures.requests.candidate > 0;
    // The newest pairs are summed up; how many there are in all is counted.
    const pairs =
      seen && row.mode === 'shadow' && source?.shadowPairs !== undefined
        ? await source.shadowPairs(actor.projectId, id, { limit: SHADOW_PAIRS_READ })
        : undefined;
    return {
      rollout: toRolloutView(row),
      decisions,
      arms: seen
        ? rolloutArmFigures(
            // Units only where traces carry them (null, not zeros, otherwise).
            { ...figures, units: srmCounts(figures).unitsCounted === 'units' ? figures.units : undefined },
            config.alpha,
            config.sequentialTuning,
          )
        : null,
      guardrails: seen
        ? evaluateGuardrails(config.guardrails, figures.metrics, config.alpha, config.sequentialTuning)
        : null,
      shadow: pairs === undefined || pairs.count === 0 ? null : summarizeShadowPairs(pairs.count, pairs.pairs),
    };
  };

  const list = async (
    actor: Actor,
    filter: { prompt?: string; label?: string; state?: RolloutState; limit?: number },
  ): Promise<{ rollouts: RolloutView[] }> => {
    let promptId: number | undefined;
    if (filter.prompt !== undefined) {
      const prompt = await registry.getPrompt(actor.projectId, filter.prompt);
      if (!prompt) return { rollouts: [] };
      promptId = prompt.id;
    }
    const rows = await rollouts.listRollouts(actor.projectId, {
      ...(promptId === undefined ? {} : { promptId }),
      ...(filter.label === undefined ? {} : { label: filter.label }),
      ...(filter.state === undefined ? {} : { state: filter.state }),
      limit: filter.limit ?? 100,
    });
    return { rollouts: rows.map(toRolloutView) };
  };

  /**
   * A merged change request's rollout, in the merge's transaction (the prompt locked, the label checked
   * to serve the request's base): its review stood in for the label's policy.
   */
  const startFromReview = async (
    tx: { registry: RegistryTx; rollouts: RolloutTx },
    actor: Actor,
    request: {
      readonly id: number;
      readonly prompt: { readonly id: number; readonly name: string };
      readonly label: string;
      readonly baselineSha: string;
      readonly candidate: { readonly sha: string; readonly version: number };
      readonly plan: RolloutConfig;
      readonly message: string;
    },
  ): Promise<RolloutView> => {
    const { prompt, label, baselineSha, candidate, plan } = request;
    const firstLine = request.message.split('\n')[0] ?? '';
    const row = await insertStarted(tx, actor, prompt, {
      label,
      baselineSha,
      candidate,
      config: plan,
      reason: `change request #${request.id}${firstLine === '' ? '' : `: ${firstLine}`}`.slice(0, MAX_REASON),
    });
    return toRolloutView(row);
  };

  return {
    start,
    startFromReview,
    list,
    show,
    pause: (actor: Actor, id: string, reason?: string) => act(actor, id, 'pause', reason),
    resume: (actor: Actor, id: string, reason?: string) => act(actor, id, 'resume', reason),
    advance: (actor: Actor, id: string, reason?: string) => act(actor, id, 'advance', reason),
    abort: (actor: Actor, id: string, reason?: string) => act(actor, id, 'abort', reason),
    setRules,
    kill,
    tick,
    /** Every running rollout of every project (the scheduler's work list). */
    running: () => rollouts.runningRollouts(),
  };
};
