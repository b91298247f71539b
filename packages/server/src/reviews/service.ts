import {
  LATEST_LABEL,
  PromptopsError,
  assertLabelName,
  diffPrompts,
  shortSha,
  standingVerdicts,
  type ChangeRequestStatus,
  type ChangeRequestSummary,
  type ChangeRequestView,
  type EvalGateVerdict,
  type PolicyRecord,
  type PromptContent,
  type ReviewChecks,
  type ReviewEvent,
  type ReviewEventKind,
  type RolloutConfig,
} from '@promptops/core';
import { roleAllows } from '../auth/permissions.js';
import type { Actor, Clock } from '../context.js';
import { moveLabel } from '../labels/move.js';
import { unknownPrompt } from '../prompts/errors.js';
import { toDeploymentRecord, toVersionRecord, toVersionSummary } from '../prompts/mappers.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { PromptRow, RegistryReads, RegistryStore, RegistryTx, VersionRow } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import { planOf, type RolloutPlanInput } from '../rollouts/plan.js';
import type { RolloutTx } from '../rollouts/store.js';
import type { ChangeRequestRow, ReviewReads, ReviewStore, ReviewTx } from './store.js';
import { allPass, approvalContext, computeChecks, refusalOf } from './checks.js';
import type { EvalGate } from '../evals/gate.js';
import type { DriftCheck } from '../drift/check.js';
import { effectivePolicy } from './policies.js';

/**
 * Change requests: a proposal to move a label to a sha, with approvals, eval results and a timeline.
 * Every write locks the prompt first (the same lock as pushes and label moves), so approvals, updates
 * and merges on one prompt serialize, also across replicas on one PostgreSQL.
 */

const MAX_TEXT = 2000;

export interface OpenInput {
  readonly name: string;
  readonly ref: string;
  readonly label: string;
  readonly message?: string;
  /** A rollout plan: merging starts it instead of moving the label. */
  readonly rollout?: RolloutPlanInput;
}

export interface ListQuery {
  readonly status?: ChangeRequestStatus;
  readonly name?: string;
  readonly label?: string;
  readonly limit?: number;
  readonly before?: number;
}

export const toSummary = (row: ChangeRequestRow): ChangeRequestSummary => ({
  id: row.id,
  name: row.name,
  label: row.label,
  status: row.status,
  author: row.author,
  message: row.message,
  sha: row.sha,
  version: row.version,
  baseSha: row.baseSha,
  baseVersion: row.baseVersion,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  deploymentId: row.deploymentId,
  rollout: row.rollout === null ? null : { plan: row.rollout, rolloutId: row.rolloutId },
});

const notFound = (id: number): PromptopsError =>
  new PromptopsError('not_found', 'change_request_not_found', `there is no change request #${id}`, {
    fix: 'see the open ones with: promptops review list',
  });

const notOpen = (cr: ChangeRequestRow): PromptopsError =>
  new PromptopsError('conflict', 'not_open', `change request #${cr.id} is ${cr.status}`, {
    fix: `open a new one: promptops review request ${cr.name} v${cr.version} --label ${cr.label} -m "why"`,
    details: { status: cr.status },
  });

/** What a label that served nothing is diffed from: the same prompt with an empty body. */
const emptyLike = (content: PromptContent): PromptContent =>
  content.type === 'text' ? { ...content, template: '', slots: {} } : { ...content, messages: [], slots: {} };

const textOf = (text: string | undefined): string => (text ?? '').slice(0, MAX_TEXT);

export type ReviewService = ReturnType<typeof createReviewService>;

/** What the review service reads: the same shape outside a transaction and inside one. */
interface Reads {
  readonly registry: RegistryReads;
  readonly reviews: ReviewReads;
}

interface Tx {
  readonly registry: RegistryTx;
  readonly reviews: ReviewTx;
  readonly rollouts: RolloutTx;
}

/** Starts a merged change request's rollout in the merge's transaction (the rollouts service's startFromReview). */
export type ReviewRolloutStarter = (
  tx: { readonly registry: RegistryTx; readonly rollouts: RolloutTx },
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
) => Promise<{ readonly id: string }>;

/** The plan a request carries, checked like a rollout's start; bad fields are named under `rollout.`. */
const requestPlan = (input: RolloutPlanInput): RolloutConfig => {
  try {
    return planOf(input);
  } catch (error) {
    if (!(error instanceof PromptopsError) || error.issues === undefined) throw error;
    const issues = error.issues.map((issue) => ({ ...issue, path: `rollout.${issue.path}` }));
    throw new PromptopsError(
      'invalid',
      error.code,
      `the proposed rollout's plan is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      {
        issues,
        ...(error.fix === undefined ? {} : { fix: error.fix }),
      },
    );
  }
};

/** The stores the review service uses. */
export interface ReviewStores {
  readonly registry: RegistryStore;
  readonly reviews: ReviewStore;
  readonly transaction: Transaction<Tx>;
}

export const createReviewService = (
  { registry, reviews, transaction }: ReviewStores,
  clock: Clock,
  evalGate: EvalGate,
  /** The offline drift check (drift/check.ts); without it the check says drift is not available. */
  driftCheck?: DriftCheck,
  /** Starts the rollout a merged request proposes; without it such a merge is refused. */
  startRollout?: ReviewRolloutStarter,
) => {
  const stores: Reads = { registry, reviews };
  const requireRequest = async (reads: Reads, actor: Actor, id: number): Promise<ChangeRequestRow> => {
    const cr = await reads.reviews.getChangeRequest(actor.projectId, id);
    if (cr === undefined) throw notFound(id);
    return cr;
  };

  /** Locks the request's prompt, then re-reads the request under the lock. */
  const lockRequest = async (
    tx: Tx,
    actor: Actor,
    id: number,
  ): Promise<{ cr: ChangeRequestRow; prompt: PromptRow }> => {
    const first = await requireRequest(tx, actor, id);
    const prompt = await tx.registry.lockPrompt(actor.projectId, first.name, clock.now().toISOString());
    return { cr: await requireRequest(tx, actor, id), prompt };
  };

  const versionOf = async (reads: Reads, promptId: number, sha: string): Promise<VersionRow> => {
    const row = await reads.registry.getVersionBySha(promptId, sha);
    if (row === undefined) throw new PromptopsError('internal', 'version_missing', `version ${sha} is missing`);
    return row;
  };

  const record = async (
    tx: Tx,
    actor: Actor,
    cr: ChangeRequestRow,
    kind: ReviewEventKind,
    sha: string,
    comment: string,
    data: Record<string, unknown> = {},
  ): Promise<void> => {
    const at = clock.now().toISOString();
    await tx.reviews.insertReviewEvent({ changeRequestId: cr.id, kind, actor: actor.name, sha, comment, at });
    await tx.registry.appendAudit({
      projectId: actor.projectId,
      at,
      actor: actor.name,
      action: `review.${kind}`,
      target: `${cr.name}:${cr.label}`,
      data: { changeRequest: cr.id, name: cr.name, label: cr.label, sha, comment, ...data },
    });
  };

  const evalVerdict = async (
    cr: ChangeRequestRow,
    policy: PolicyRecord | null,
    labelSha: string | null,
  ): Promise<EvalGateVerdict | null> =>
    policy === null || policy.suites.length === 0
      ? null
      : evalGate.check({
          projectId: cr.projectId,
          prompt: cr.name,
          sha: cr.sha,
          label: cr.label,
          labelSha,
          suites: policy.suites,
        });

  const driftFor = async (cr: ChangeRequestRow, policy: PolicyRecord | null): Promise<ReviewChecks['drift']> => {
    const noDrift = policy?.noDrift ?? [];
    if (driftCheck === undefined)
      return { status: 'not_available', message: 'drift reports are not available', noDrift, suites: [] };
    return driftCheck({
      projectId: cr.projectId,
      prompt: cr.name,
      base: cr.baseSha === null ? null : { sha: cr.baseSha, version: cr.baseVersion! },
      proposed: { sha: cr.sha, version: cr.version },
      requiredSuites: (policy?.suites ?? []).map((s) => s.suite),
      noDrift,
    });
  };

  /** What `gateState` gets where only approvals matter: the drift check is not read. */
  const UNCOMPUTED_DRIFT: ReviewChecks['drift'] = { status: 'not_available', message: '', noDrift: [], suites: [] };

  const gateState = async (
    reads: Reads,
    cr: ChangeRequestRow,
    verdict: EvalGateVerdict | null | undefined,
    drift?: ReviewChecks['drift'],
  ) => {
    const [policy, to, labelNow, events] = await Promise.all([
      effectivePolicy(reads.reviews, cr.projectId, cr.label, cr.name),
      versionOf(reads, cr.promptId, cr.sha),
      reads.registry.getLabel(cr.promptId, cr.label),
      reads.reviews.listReviewEvents(cr.id),
    ]);
    const context = await approvalContext(reads.reviews, cr, policy, to.author);
    // Regressions are measured from the request's base: the sha it proposes to replace (a merge needs the
    // label to serve it still, so at merge time this is what the label serves).
    const resolved = verdict === undefined ? await evalVerdict(cr, policy, cr.baseSha) : verdict;
    const checks = computeChecks({
      cr,
      context,
      events,
      labelNow,
      verdict: resolved,
      drift: drift ?? (await driftFor(cr, policy)),
    });
    return { policy, to, labelNow, events, context, checks };
  };

  const view = async (actor: Actor, id: number): Promise<ChangeRequestView> => {
    const cr = await requireRequest(stores, actor, id);
    const { policy, to, events, checks } = await gateState(stores, cr, undefined);
    const from = cr.baseSha === null ? null : await versionOf(stores, cr.promptId, cr.baseSha);
    const toRecord = toVersionRecord(to);
    const diff = diffPrompts(
      from === null ? emptyLike(toRecord.content) : toVersionRecord(from).content,
      toRecord.content,
      {
        from: from === null ? `${cr.label} (nothing)` : `${cr.name}@v${from.version} (${shortSha(from.sha)})`,
        to: `${cr.name}@v${to.version} (${shortSha(to.sha)})`,
      },
    );
    // Break-glass moves of this label while the request was open belong on its timeline.
    const forced = (await registry.listDeployments(cr.promptId, { label: cr.label })).filter(
      (d) => d.kind === 'break-glass' && d.createdAt >= cr.createdAt,
    );
    const timeline: ReviewEvent[] = [
      ...events.map((e) => ({ kind: e.kind, actor: e.actor, at: e.at, sha: e.sha, comment: e.comment })),
      ...forced.map((d) => ({
        kind: 'forced' as const,
        actor: d.actor,
        at: d.createdAt,
        sha: d.toSha,
        comment: d.reason,
        deployment: toDeploymentRecord(d),
      })),
    ].sort((a, b) => a.at.localeCompare(b.at));
    return {
      ...toSummary(cr),
      protected: policy?.protected === true,
      policy,
      from: from === null ? null : toVersionSummary(from),
      to: toVersionSummary(to),
      diff,
      checks,
      mergeable: cr.status === 'open' && allPass(checks),
      timeline,
    };
  };

  const verdictOn = async (
    actor: Actor,
    id: number,
    kind: 'approved' | 'rejected',
    input: { comment?: string; sha?: string },
  ): Promise<ChangeRequestView> => {
    await transaction(async (tx) => {
      const { cr } = await lockRequest(tx, actor, id);
      if (cr.status !== 'open') throw notOpen(cr);
      if (input.sha !== undefined && input.sha !== cr.sha) {
        throw new PromptopsError(
          'conflict',
          'stale_review',
          `change request #${id} now proposes v${cr.version} (${shortSha(cr.sha)}), not ${shortSha(input.sha)}`,
          { fix: `look at it again: promptops review show ${id}`, details: { sha: cr.sha, version: cr.version } },
        );
      }
      const { policy, to, events, context } = await gateState(tx, cr, null, UNCOMPUTED_DRIFT);
      const standing = standingVerdicts(events, cr.sha);
      if (kind === 'approved') {
        const refusal = refusalOf(context, actor.name, actor.role);
        if (refusal === 'author') {
          throw new PromptopsError(
            'forbidden',
            'self_approval',
            `${actor.name} wrote this change (#${id}, v${to.version}) and may not approve it`,
            { fix: 'ask another reviewer to approve it' },
          );
        }
        if (refusal === 'role') {
          throw new PromptopsError(
            'forbidden',
            'forbidden',
            `approving changes to '${cr.label}' needs the role ${policy?.minRole ?? 'reviewer'}, not '${actor.role}'`,
            { fix: 'ask someone with that role to approve it' },
          );
        }
        if (refusal === 'not_owner') {
          throw new PromptopsError(
            'forbidden',
            'not_an_approver',
            `${actor.name} is not among the approvers of '${cr.name}' for '${cr.label}': ${[...(context.eligible ?? [])].join(', ') || 'nobody'}`,
            { fix: 'ask an owner to approve it (see promptops policy show and promptops owners list)' },
          );
        }
      }
      if ((kind === 'approved' ? standing.approved : standing.rejected).some((e) => e.actor === actor.name)) {
        throw new PromptopsError(
          'conflict',
          kind === 'approved' ? 'already_approved' : 'already_rejected',
          `${actor.name} has already ${kind} v${cr.version} of change request #${id}`,
          { fix: 'one verdict per person: nothing to do' },
        );
      }
      await record(tx, actor, cr, kind, cr.sha, textOf(input.comment));
    });
    return view(actor, id);
  };

  return {
    view,

    async list(
      actor: Actor,
      query: ListQuery,
    ): Promise<{ changeRequests: ChangeRequestSummary[]; nextBefore: number | null }> {
      if (query.label !== undefined) assertLabelName(query.label);
      let promptId: number | undefined;
      if (query.name !== undefined) {
        const prompt = await registry.getPrompt(actor.projectId, query.name);
        if (prompt === undefined) throw await unknownPrompt(registry, actor.projectId, query.name);
        promptId = prompt.id;
      }
      const limit = query.limit ?? 50;
      const rows = await reviews.listChangeRequests(actor.projectId, {
        limit,
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(promptId === undefined ? {} : { promptId }),
        ...(query.label === undefined ? {} : { label: query.label }),
        ...(query.before === undefined ? {} : { beforeId: query.before }),
      });
      const last = rows.at(-1);
      return { changeRequests: rows.map(toSummary), nextBefore: rows.length === limit && last ? last.id : null };
    },

    async open(actor: Actor, input: OpenInput): Promise<ChangeRequestView> {
      assertLabelName(input.label);
      if (input.label === LATEST_LABEL) {
        throw new PromptopsError(
          'unprocessable',
          'label_reserved',
          `'${LATEST_LABEL}' follows the newest version and takes no change requests`,
          {
            fix: 'request a change to another label, such as production',
          },
        );
      }
      const plan = input.rollout === undefined ? null : requestPlan(input.rollout);
      const id = await transaction(async (tx) => {
        const found = await tx.registry.getPrompt(actor.projectId, input.name);
        if (!found || found.headSha === null) throw await unknownPrompt(tx.registry, actor.projectId, input.name);
        const prompt = await tx.registry.lockPrompt(actor.projectId, input.name, clock.now().toISOString());
        const target = await resolveRef(tx.registry, prompt, input.ref);
        const current = await tx.registry.getLabel(prompt.id, input.label);
        if (current?.sha === target.sha) {
          throw new PromptopsError(
            'unprocessable',
            'already_serving',
            `'${input.label}' of '${input.name}' already serves v${target.version} (${shortSha(target.sha)})`,
            { fix: 'nothing to request; name another version' },
          );
        }
        const cr = await tx.reviews.insertChangeRequest({
          projectId: actor.projectId,
          promptId: prompt.id,
          label: input.label,
          author: actor.name,
          message: textOf(input.message),
          sha: target.sha,
          version: target.version,
          baseSha: current?.sha ?? null,
          baseVersion: current?.version ?? null,
          createdAt: clock.now().toISOString(),
          rollout: plan,
        });
        // Times are recorded for verify to compare (with updatedAt on later changes); older entries lack them.
        await record(tx, actor, cr, 'opened', cr.sha, cr.message, {
          version: cr.version,
          baseSha: cr.baseSha,
          createdAt: cr.createdAt,
          ...(plan === null ? {} : { rollout: plan }),
        });
        return cr.id;
      });
      return view(actor, id);
    },

    approve: (actor: Actor, id: number, input: { comment?: string; sha?: string }) =>
      verdictOn(actor, id, 'approved', input),
    reject: (actor: Actor, id: number, input: { comment?: string; sha?: string }) =>
      verdictOn(actor, id, 'rejected', input),

    /**
     * Proposes another version (or the same one again on the label's current sha): records the label's
     * sha now as the new base, and voids every earlier approval and rejection.
     */
    async update(actor: Actor, id: number, input: { ref?: string; comment?: string }): Promise<ChangeRequestView> {
      await transaction(async (tx) => {
        const { cr, prompt } = await lockRequest(tx, actor, id);
        if (cr.status !== 'open') throw notOpen(cr);
        if (cr.author !== actor.name && actor.role !== 'admin') {
          throw new PromptopsError(
            'forbidden',
            'not_author',
            `only ${cr.author} (or an admin) may update change request #${id}`,
            {
              fix: `open your own: promptops review request ${cr.name} REF --label ${cr.label}`,
            },
          );
        }
        const target =
          input.ref === undefined
            ? await versionOf(tx, prompt.id, cr.sha)
            : await resolveRef(tx.registry, prompt, input.ref);
        const current = await tx.registry.getLabel(prompt.id, cr.label);
        if (current?.sha === target.sha) {
          throw new PromptopsError(
            'unprocessable',
            'already_serving',
            `'${cr.label}' already serves v${target.version}`,
            {
              fix: `close the request: promptops review close ${id}`,
            },
          );
        }
        const baseSha = current?.sha ?? null;
        if (target.sha === cr.sha && baseSha === cr.baseSha) {
          throw new PromptopsError(
            'unprocessable',
            'nothing_to_update',
            `change request #${id} already proposes v${target.version} on the label's current version`,
            {
              fix: 'name another version to propose',
            },
          );
        }
        const updatedAt = clock.now().toISOString();
        await tx.reviews.updateChangeRequest(actor.projectId, id, {
          sha: target.sha,
          version: target.version,
          baseSha,
          baseVersion: current?.version ?? null,
          updatedAt,
        });
        const comment =
          textOf(input.comment) ||
          `now proposes v${target.version} (${shortSha(target.sha)}) on ${current === undefined ? 'nothing' : `v${current.version}`}`;
        await record(tx, actor, cr, 'superseded', target.sha, comment, {
          fromSha: cr.sha,
          version: target.version,
          baseSha,
          updatedAt,
        });
      });
      return view(actor, id);
    },

    /** Moves the label when every check passes, atomically with the checks. */
    async merge(actor: Actor, id: number, input: { comment?: string }): Promise<ChangeRequestView> {
      // The eval gate may be slow: ask it first, then re-check everything else under the lock.
      const before = await requireRequest(stores, actor, id);
      if (before.status !== 'open') throw notOpen(before);
      const policyBefore = await effectivePolicy(reviews, actor.projectId, before.label, before.name);
      const labelBefore = await registry.getLabel(before.promptId, before.label);
      const verdict = await evalVerdict(before, policyBefore, labelBefore?.sha ?? null);
      const driftBefore = await driftFor(before, policyBefore);
      await transaction(async (tx) => {
        const { cr, prompt } = await lockRequest(tx, actor, id);
        if (cr.status !== 'open') throw notOpen(cr);
        const current = await tx.registry.getLabel(prompt.id, cr.label);
        if ((current?.sha ?? null) !== cr.baseSha) {
          throw new PromptopsError(
            'conflict',
            'label_moved',
            `'${cr.label}' of '${cr.name}' moved since change request #${id} was opened: it serves ${current === undefined ? 'nothing' : `v${current.version} (${shortSha(current.sha)})`} now, not ${cr.baseSha === null ? 'nothing' : `v${cr.baseVersion} (${shortSha(cr.baseSha)})`}`,
            {
              fix: `re-review it on the new version: promptops review update ${id}, then get it approved again`,
              details: { labelSha: current?.sha ?? null, baseSha: cr.baseSha },
            },
          );
        }
        const same = cr.sha === before.sha && cr.baseSha === before.baseSha;
        const state = await gateState(
          tx,
          cr,
          cr.sha === before.sha ? verdict : undefined,
          // Never read other stores inside the write transaction (SQLite has one connection): a proposal
          // that changed meanwhile waits for the next merge.
          same
            ? driftBefore
            : {
                status: driftBefore.noDrift.length > 0 ? 'pending' : 'not_available',
                message: 'the proposal changed while merging: merge again',
                noDrift: driftBefore.noDrift,
                suites: [],
              },
        );
        if (state.policy?.protected !== true && !roleAllows(actor.role, 'labels:write')) {
          throw new PromptopsError(
            'forbidden',
            'forbidden',
            `'${cr.label}' is not protected: merging moves it directly, which needs the deployer role`,
            {
              fix: 'ask a deployer to merge it',
            },
          );
        }
        if (!allPass(state.checks)) {
          const failing = (['approvals', 'evals', 'base', 'drift'] as const)
            .filter((check) =>
              check === 'drift'
                ? state.checks.drift.status === 'failed' || state.checks.drift.status === 'pending'
                : state.checks[check].status !== 'passed',
            )
            .map((check) => `${check}: ${state.checks[check].message}`);
          throw new PromptopsError(
            'unprocessable',
            'checks_failed',
            `change request #${id} cannot be merged yet: ${failing.join('; ')}`,
            {
              fix: `see what is missing: promptops review show ${id}`,
              details: { checks: state.checks },
            },
          );
        }
        if (cr.rollout !== null) {
          // The request proposes a rollout: it starts now; the label moves when the rollout completes.
          if (current === undefined) {
            throw new PromptopsError(
              'not_found',
              'label_not_found',
              `'${cr.label}' of '${cr.name}' serves nothing yet: a rollout needs the label's version as its baseline`,
              { fix: `promote a version to '${cr.label}' first, or propose the move without a rollout` },
            );
          }
          if (startRollout === undefined) throw new Error('the review service was built without rollouts');
          const started = await startRollout(tx, actor, {
            id,
            prompt,
            label: cr.label,
            baselineSha: current.sha,
            candidate: { sha: state.to.sha, version: state.to.version },
            plan: cr.rollout,
            message: cr.message,
          });
          const updatedAt = clock.now().toISOString();
          await tx.reviews.updateChangeRequest(actor.projectId, id, {
            status: 'merged',
            rolloutId: started.id,
            updatedAt,
          });
          await record(tx, actor, cr, 'merged', cr.sha, textOf(input.comment), { rolloutId: started.id, updatedAt });
          return;
        }
        const firstLine = cr.message.split('\n')[0] ?? '';
        const moved = await moveLabel(tx.registry, clock, {
          actor,
          prompt,
          label: cr.label,
          current,
          target: state.to,
          kind: 'merge',
          reason: `change request #${id}${firstLine === '' ? '' : `: ${firstLine}`}`,
          changeRequest: id,
        });
        const updatedAt = clock.now().toISOString();
        await tx.reviews.updateChangeRequest(actor.projectId, id, {
          status: 'merged',
          deploymentId: moved.deployment.id,
          updatedAt,
        });
        await record(tx, actor, cr, 'merged', cr.sha, textOf(input.comment), {
          deploymentId: moved.deployment.id,
          updatedAt,
        });
      });
      return view(actor, id);
    },

    /** Abandons the request: its author, or a reviewer (or above). */
    async close(actor: Actor, id: number, input: { comment?: string }): Promise<ChangeRequestView> {
      await transaction(async (tx) => {
        const { cr } = await lockRequest(tx, actor, id);
        if (cr.status !== 'open') throw notOpen(cr);
        if (cr.author !== actor.name && !roleAllows(actor.role, 'reviews:approve')) {
          throw new PromptopsError(
            'forbidden',
            'not_author',
            `only ${cr.author} or a reviewer may close change request #${id}`,
            {
              fix: 'ask the author or a reviewer',
            },
          );
        }
        const updatedAt = clock.now().toISOString();
        await tx.reviews.updateChangeRequest(actor.projectId, id, { status: 'closed', updatedAt });
        await record(tx, actor, cr, 'closed', cr.sha, textOf(input.comment), { updatedAt });
      });
      return view(actor, id);
    },
  };
};
