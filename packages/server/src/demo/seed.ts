import { memberTarget } from '../access/service.js';
import type { Actor, Clock } from '../context.js';
import { createLabelService } from '../labels/service.js';
import { createPromptService } from '../prompts/service.js';
import { createDriftCheck } from '../drift/check.js';
import { createEvalGate } from '../evals/gate.js';
import { createPolicyService } from '../reviews/policies.js';
import { createReviewService } from '../reviews/service.js';
import type { AccessTx } from '../access/store.js';
import type { DriftStore, DriftTx } from '../drift/store.js';
import type { EvalStore, EvalTx } from '../evals/store.js';
import type { IncidentStore, IncidentTx } from '../incidents/store.js';
import type { ProjectRow, RegistryStore, RegistryTx } from '../registry/store.js';
import type { ReviewStore, ReviewTx } from '../reviews/store.js';
import type { RolloutStore, RolloutTx } from '../rollouts/store.js';
import type { TenantStore, TenantTx } from '../tenants/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { TraceStore } from '../traces/store.js';
import { demoDriftEvalSteps, seedDemoDriftReport } from './drift.js';
import { demoEvalSteps } from './evals.js';
import { demoIncidentSteps } from './incidents.js';
import { demoRolloutSteps } from './rollouts.js';
import { demoSteps, DEMO_MEMBERS, type DemoStep } from './story.js';
import { demoTenantSteps } from './tenants.js';
import { seedDemoTraces } from './traces.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The stores the demo seeds, through the same services the API uses. */
export interface DemoStores {
  readonly registry: RegistryStore;
  readonly reviews: ReviewStore;
  readonly evals: EvalStore;
  readonly traces: TraceStore;
  readonly drift: DriftStore;
  readonly rollouts: RolloutStore;
  readonly tenants: TenantStore;
  readonly incidents: IncidentStore;
  readonly transaction: Transaction<{
    readonly registry: RegistryTx;
    readonly access: AccessTx;
    readonly reviews: ReviewTx;
    readonly evals: EvalTx;
    readonly drift: DriftTx;
    readonly rollouts: RolloutTx;
    readonly tenants: TenantTx;
    readonly incidents: IncidentTx;
  }>;
}

/** The people of the story, as members of the demo project (audited like any membership change). */
const seedDemoMembers = async (stores: DemoStores, project: ProjectRow, at: Date): Promise<void> => {
  const when = at.toISOString();
  await stores.transaction(async (tx) => {
    for (const member of DEMO_MEMBERS) {
      const user = await tx.access.ensureUser(member.name, when);
      await tx.access.insertMember({
        projectId: project.id,
        userId: user.id,
        role: member.role,
        displayName: member.displayName,
        createdAt: when,
        createdBy: 'demo',
      });
      await tx.registry.appendAudit({
        projectId: project.id,
        at: when,
        actor: 'demo',
        action: 'member.added',
        target: memberTarget(member.name),
        data: { name: member.name, role: member.role },
      });
    }
  });
};

/**
 * Seeds the demo through the same services the API uses (so history, labels and the audit chain are
 * real), with a clock set back to each step's day, acting as the step's author with their role. Steps
 * are applied in time order.
 */
export const seedDemo = async (stores: DemoStores, project: ProjectRow, now: Date = new Date()): Promise<void> => {
  let at = now;
  const clock: Clock = { now: () => at };
  const prompts = createPromptService(stores, clock);
  const labels = createLabelService(stores, clock, createEvalGate(stores.evals));
  const policies = createPolicyService(stores, clock);
  const reviews = createReviewService(stores, clock, createEvalGate(stores.evals), createDriftCheck(stores.evals));
  const requests: number[] = [];
  const heads = new Map<string, string | null>();
  await seedDemoMembers(stores, project, new Date(now.getTime() - 95 * DAY_MS));
  const apply = async (step: DemoStep): Promise<void> => {
    const role = DEMO_MEMBERS.find((member) => member.name === step.author)?.role;
    if (role === undefined) throw new Error(`demo step by ${step.author}, who is not a demo member`);
    const actor: Actor = {
      projectId: project.id,
      projectName: project.name,
      role,
      keyId: 'demo',
      stamp: 0,
      name: step.author,
      user: step.author,
    };
    if (step.kind === 'push') {
      const name = String(step.content['name']);
      const result = await prompts.push(actor, name, {
        content: step.content,
        parent: heads.get(name) ?? null,
        message: step.message,
      });
      heads.set(name, result.sha);
    } else if (step.kind === 'promote') {
      await labels.promote(actor, step.name, step.label, {
        ref: step.ref,
        reason: step.reason,
        ...(step.force === true ? { force: true } : {}),
      });
    } else if (step.kind === 'protect') {
      await policies.set(actor, step.label, {
        pattern: step.pattern,
        approvals: step.approvals,
        ...(step.suites === undefined ? {} : { suites: step.suites.map((suite) => ({ suite })) }),
      });
    } else if (step.kind === 'review') {
      const opened = await reviews.open(actor, {
        name: step.name,
        ref: step.ref,
        label: step.label,
        message: step.message,
      });
      requests.push(opened.id);
    } else {
      const id = requests[step.request - 1];
      if (id === undefined) throw new Error(`demo step names change request ${step.request} before it is opened`);
      const input = { comment: step.comment };
      await (step.kind === 'approve' ? reviews.approve(actor, id, input) : reviews.merge(actor, id, input));
    }
  };
  // The story's steps and the greeter's eval suite with its runs on v17 (passes) and v18 (every case
  // regresses), in time order, so the audit log reads in the order things happened.
  // alice's shadow rollout of v18 (it aborted itself) and carol's split of summarize_ticket v4 (running).
  const rollouts = demoRolloutSteps(stores, project, clock, now);
  // The default monitor catches v18, carol rolls back and resolves incident #1; dave forces v18 again.
  const incident = demoIncidentSteps(stores, project, clock, (to) => void (at = to), labels);
  const timeline = [
    ...demoSteps().map((step) => ({ daysAgo: step.daysAgo, run: () => apply(step) })),
    ...rollouts.steps,
    ...incident.steps,
    ...demoEvalSteps(stores, project, clock),
    ...demoDriftEvalSteps(stores, project, clock),
    // acme's formal and globex's German greeter, layered on production (and their calls since).
    ...demoTenantSteps(stores, project, clock, now),
    // After the complaints, bob measured what v18 changed: the drift page's first report.
    { daysAgo: 0.5, run: () => seedDemoDriftReport(stores, project, clock) },
  ].sort((a, b) => b.daysAgo - a.daysAgo);
  for (const step of timeline) {
    at = new Date(now.getTime() - step.daysAgo * DAY_MS);
    await step.run();
  }
  // A week of traces over the same history, so `promptops metrics` shows complaints rising after v18.
  await seedDemoTraces(
    stores,
    project,
    now,
    [rollouts.shadowSpan(), incident.span()].filter((s) => s !== undefined),
  );
};
