import { assignArm, runAssertion, type Arm, type ArmPair, type RolloutMetrics } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { createEvalGate } from '../evals/gate.js';
import type { EvalStore } from '../evals/store.js';
import type { ProjectRow } from '../registry/store.js';
import type { ArmObservations, RolloutObservationSource } from '../rollouts/observations.js';
import { toRolloutView } from '../rollouts/records.js';
import { createRolloutService, type RolloutStores } from '../rollouts/service.js';
import type { NewTrace, TraceStore } from '../traces/store.js';
import { DEMO_MEMBERS } from './story.js';

/**
 * The demo's two rollouts, taken through the rollout service with the seed's clock, their decisions by
 * its tick, as the scheduler takes them:
 * - `customer_support_greeter`: alice tried dave's v18 in shadow on production before anyone shipped it.
 *   Each production call was copied to v18; the suite's live assertion `mentions-var user_name` passed on
 *   every v17 answer and on no v18 copy, so the guardrail failed and the rollout aborted itself within two
 *   hours. (Dave forced v18 through anyway the next day: the story's incident.)
 * - `summarize_ticket`: carol's v4 is being split on production, ramping 5 → 25 → 50 % as its steps pass.
 * The calls are traces with their rollout and arm; the figures each tick sees are read from them.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const GREETER = 'customer_support_greeter';
const SUMMARIZE = 'summarize_ticket';
/** When each rollout started and how often the scheduler looked, in days before the seed's now. */
export const DEMO_SHADOW_DAYS_AGO = 2.9;
export const DEMO_SPLIT_DAYS_AGO = 0.5;
const TICK_MS = HOUR_MS / 2;
/** The window of production calls copied to v18 while the shadow runs. */
const demoShadowWindow = (now: Date): { startMs: number; endMs: number } => {
  const startMs = now.getTime() - DEMO_SHADOW_DAYS_AGO * DAY_MS;
  return { startMs, endMs: startMs + 3 * HOUR_MS };
};

export interface DemoRolloutStores extends RolloutStores {
  readonly evals: EvalStore;
  readonly traces: TraceStore;
}

/** mulberry32, as the traces use it: the same calls on every run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** One call as a trace, plus what the figures need: its unit and its live assertion's verdict. */
interface DemoCall {
  readonly trace: NewTrace;
  readonly rolloutId: string;
  readonly arm: Arm;
  readonly unit: string;
  readonly passed: boolean | null;
}

/** What each tick sees: the calls made so far (by the seed's clock), per arm. */
const observationSource = (calls: readonly DemoCall[], clock: Clock): RolloutObservationSource => ({
  rolloutObservations: async (_projectId, rolloutId, sinceMs): Promise<ArmObservations> => {
    const nowMs = clock.now().getTime();
    const seen = calls.filter(
      (c) => c.rolloutId === rolloutId && c.trace.startedAtMs >= sinceMs && c.trace.startedAtMs <= nowMs,
    );
    const of = (arm: Arm) => seen.filter((c) => c.arm === arm);
    const pair = <T>(f: (arm: readonly DemoCall[]) => T): ArmPair<T> => ({
      baseline: f(of('baseline')),
      candidate: f(of('candidate')),
    });
    const latencies = (arm: readonly DemoCall[]) => arm.map((c) => c.trace.latencyMs ?? 0);
    const judged = (arm: readonly DemoCall[]) => arm.filter((c) => c.passed !== null);
    const metrics: RolloutMetrics = {
      error_rate: pair((arm) => ({ count: arm.length, events: arm.filter((c) => c.trace.status === 'error').length })),
      latency: pair((arm) => ({
        count: arm.length,
        sum: latencies(arm).reduce((a, b) => a + b, 0),
        sumOfSquares: latencies(arm).reduce((a, b) => a + b * b, 0),
      })),
      ...(seen.some((c) => c.passed !== null)
        ? {
            assertion_pass_rate: pair((arm) => ({
              count: judged(arm).length,
              events: judged(arm).filter((c) => c.passed === true).length,
            })),
          }
        : {}),
    };
    return {
      metrics,
      requests: pair((arm) => arm.length),
      units: pair((arm) => new Set(arm.map((c) => c.unit)).size),
    };
  },
});

const hex = (random: () => number, length: number): string =>
  Math.floor(random() * 2 ** 52)
    .toString(16)
    .padStart(length, '0')
    .slice(0, length);

const baseTrace = (random: () => number, fields: Partial<NewTrace> & Pick<NewTrace, 'eventId'>): NewTrace => ({
  traceId: hex(random, 32),
  spanId: hex(random, 16),
  parentSpanId: null,
  promptName: null,
  promptVersion: null,
  promptSha: null,
  effectiveSha: null,
  label: 'production',
  tenant: null,
  rolloutId: null,
  rolloutArm: null,
  releaseSha: null,
  variables: null,
  output: null,
  model: 'gpt-4o-mini',
  provider: 'openai',
  latencyMs: null,
  inputTokens: null,
  outputTokens: null,
  cost: null,
  status: 'ok',
  error: null,
  attributes: JSON.stringify({ 'service.name': 'support-bot' }),
  startedAtMs: 0,
  ...fields,
});

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Radia', 'Frances', 'Dennis'];
const ANSWERS = [
  'Use "Forgot password" on the sign-in page; the link in the email is valid for one hour.',
  'Your order left our warehouse yesterday and should arrive within two days.',
  'The second charge is a pending authorization; it disappears within three business days.',
];
const CLOSE = 'Is there anything else I can help with?';
const MENTIONS_NAME = { type: 'mentions-var', value: 'user_name' } as const;

/** The greeter's production calls in the shadow window, each with its copy answered by v18. */
const shadowCalls = (
  rolloutId: string,
  window: { startMs: number; endMs: number },
  v17: { version: number; sha: string },
  v18: { version: number; sha: string },
): DemoCall[] => {
  const random = prng(18_2025);
  const calls: DemoCall[] = [];
  const step = HOUR_MS / 24;
  for (let i = 0, at = window.startMs + step; at < window.endMs; i += 1, at += step * (0.6 + random() * 0.8)) {
    const name = NAMES[Math.floor(random() * NAMES.length)]!;
    const answer = ANSWERS[Math.floor(random() * ANSWERS.length)]!;
    const vars = { user_name: name, question: 'How can I get help?' };
    const latencyMs = Math.round(450 + random() * 600);
    const id = `shadow-${9000 + i}`;
    const outputs = { baseline: `Hi ${name}! ${answer} ${CLOSE}`, candidate: `${answer} ${CLOSE}` };
    for (const arm of ['baseline', 'candidate'] as const) {
      const output = outputs[arm];
      const served = arm === 'baseline' ? v17 : v18;
      const passed = runAssertion(MENTIONS_NAME, { output, vars, latencyMs, cost: null }).pass;
      calls.push({
        rolloutId,
        arm,
        unit: name,
        passed,
        trace: baseTrace(random, {
          eventId: arm === 'baseline' ? id : `${id}-shadow`,
          // A shadow output names the call it copied, as the gateway and the SDK record it.
          shadowOf: arm === 'baseline' ? null : id,
          promptName: GREETER,
          promptVersion: served.version,
          promptSha: served.sha,
          rolloutId,
          rolloutArm: arm,
          variables: JSON.stringify(vars),
          output,
          latencyMs: arm === 'baseline' ? latencyMs : latencyMs + Math.round(random() * 80),
          inputTokens: 100,
          outputTokens: 40,
          startedAtMs: Math.round(at),
        }),
      });
    }
  }
  return calls;
};

/**
 * summarize_ticket's calls from `fromMs` to `toMs` at one ramp (the ramp of that half hour): each ticket's
 * customer is the unit, assigned to an arm as every SDK and the gateway would.
 */
const splitCaller = (rolloutId: string, arms: Record<Arm, { version: number; sha: string }>) => {
  const random = prng(4_2026);
  const step = HOUR_MS / 120;
  let i = 0;
  return (fromMs: number, toMs: number, ramp: number): DemoCall[] => {
    const calls: DemoCall[] = [];
    for (let at = fromMs + step * random(); at < toMs; i += 1, at += step * (0.5 + random())) {
      const unit = `customer-${1 + Math.floor(random() * 900)}`;
      const arm = assignArm(rolloutId, unit, ramp).arm;
      const failed = random() < 0.01;
      const served = arms[arm];
      calls.push({
        rolloutId,
        arm,
        unit,
        passed: null,
        trace: baseTrace(random, {
          eventId: `summary-${20_000 + i}`,
          promptName: SUMMARIZE,
          promptVersion: served.version,
          promptSha: served.sha,
          rolloutId,
          rolloutArm: arm,
          variables: JSON.stringify({ ticket_text: `Ticket ${i}: the customer cannot sign in.`, max_words: 60 }),
          output: failed
            ? null
            : arm === 'candidate'
              ? 'Wants: to sign in again. Cause: the password expired.'
              : 'The customer cannot sign in because the password expired.',
          latencyMs: failed ? 30_000 : Math.round(300 + random() * 400),
          inputTokens: 150,
          outputTokens: 30,
          status: failed ? 'error' : 'ok',
          error: failed ? 'upstream timeout after 30 s' : null,
          startedAtMs: Math.round(at),
        }),
      });
    }
    return calls;
  };
};

const actorOf = (project: ProjectRow, name: string): Actor => ({
  projectId: project.id,
  projectName: project.name,
  role: DEMO_MEMBERS.find((member) => member.name === name)!.role,
  keyId: 'demo',
  stamp: 0,
  name,
  user: name,
});

/**
 * The rollouts' steps for the seed's timeline (`daysAgo` each, the seed setting its clock to it): the
 * start, then a tick every half hour, each first recording the calls made since the last one.
 */
export const demoRolloutSteps = (
  stores: DemoRolloutStores,
  project: ProjectRow,
  clock: Clock,
  now: Date,
): {
  steps: { daysAgo: number; run: () => Promise<void> }[];
  shadowSpan: () => { startMs: number; endMs: number } | undefined;
} => {
  const calls: DemoCall[] = [];
  const recorded = new Set<DemoCall>();
  // Fixed ids: a unit's arm hangs on its rollout's salt (the id), so the demo ramps the same way every time.
  const ids = ['ro_shadowgreetr', 'ro_splitsummary'];
  const service = createRolloutService(stores, clock, createEvalGate(stores.evals), {
    observations: () => observationSource(calls, clock),
    newId: () => ids.shift()!,
  });
  /** Stores the calls made up to the clock's now, as the gateway or an SDK would have sent them. */
  const flush = async (): Promise<void> => {
    const nowMs = clock.now().getTime();
    const due = calls.filter((c) => !recorded.has(c) && c.trace.startedAtMs <= nowMs);
    if (due.length === 0) return;
    for (const call of due) recorded.add(call);
    await stores.traces.insertTraces(
      project.id,
      due.map((c) => c.trace),
      nowMs,
    );
  };
  const versionOf = async (name: string, ref: string) => {
    const prompt = (await stores.registry.getPrompt(project.id, name))!;
    const row = ref.startsWith('v')
      ? await stores.registry.getVersionByNumber(prompt.id, Number(ref.slice(1)))
      : await stores.registry
          .getLabel(prompt.id, ref)
          .then((label) => stores.registry.getVersionBySha(prompt.id, label!.sha));
    return { version: row!.version, sha: row!.sha };
  };
  const started: Record<string, string> = {};
  let splitCalls: ((fromMs: number, toMs: number, ramp: number) => DemoCall[]) | undefined;
  let lastSplitMs = 0;
  const tick = (key: 'shadow' | 'split') => async () => {
    const id = started[key];
    if (id === undefined) return;
    if (key === 'split' && splitCalls !== undefined) {
      // The half hour since the last look, at the ramp the rollout served it with.
      const row = await stores.rollouts.getRollout(project.id, id);
      const ramp = row === undefined ? 0 : toRolloutView(row).ramp;
      const nowMs = clock.now().getTime();
      calls.push(...splitCalls(lastSplitMs, nowMs, ramp));
      lastSplitMs = nowMs;
    }
    await flush();
    await service.tick(project.id, id);
    // A finished rollout copies and splits nothing more: its calls not yet made never happen.
    const row = await stores.rollouts.getRollout(project.id, id);
    if (row?.state === 'aborted' || row?.state === 'completed') {
      const nowMs = clock.now().getTime();
      const kept = calls.filter((c) => c.rolloutId !== id || c.trace.startedAtMs <= nowMs);
      calls.splice(0, calls.length, ...kept);
    }
  };
  const ticks = (key: 'shadow' | 'split', fromDaysAgo: number, toDaysAgo: number) => {
    const steps: { daysAgo: number; run: () => Promise<void> }[] = [];
    for (let daysAgo = fromDaysAgo - TICK_MS / DAY_MS; daysAgo > toDaysAgo; daysAgo -= TICK_MS / DAY_MS) {
      steps.push({ daysAgo, run: tick(key) });
    }
    return steps;
  };

  const window = demoShadowWindow(now);
  const shadow = {
    daysAgo: DEMO_SHADOW_DAYS_AGO,
    run: async () => {
      const [v17, v18] = [await versionOf(GREETER, 'production'), await versionOf(GREETER, 'v18')];
      const rollout = await service.start(actorOf(project, 'alice'), GREETER, {
        label: 'production',
        candidate: 'v18',
        mode: 'shadow',
        steps: [100],
        minSamples: 50,
        stepDuration: '6h',
        guardrails: ['assertion_pass_rate:-0.05', 'error_rate:+0.02'],
        reason: "dave's wording fix: copy production calls to v18 before it answers anyone",
      });
      started['shadow'] = rollout.id;
      calls.push(...shadowCalls(rollout.id, window, v17, v18));
    },
  };
  const split = {
    daysAgo: DEMO_SPLIT_DAYS_AGO,
    run: async () => {
      const [baseline, candidate] = [await versionOf(SUMMARIZE, 'production'), await versionOf(SUMMARIZE, 'v4')];
      const rollout = await service.start(actorOf(project, 'carol'), SUMMARIZE, {
        label: 'production',
        candidate: 'v4',
        mode: 'split',
        steps: [5, 25, 50, 100],
        minSamples: 50,
        stepDuration: '3h',
        guardrails: ['error_rate:+0.02', 'latency:+300'],
        reason: 'lead with what the customer wants, on a share of tickets first',
      });
      started['split'] = rollout.id;
      splitCalls = splitCaller(rollout.id, { baseline, candidate });
      lastSplitMs = clock.now().getTime();
    },
  };
  const steps = [
    shadow,
    ...ticks('shadow', DEMO_SHADOW_DAYS_AGO, DEMO_SHADOW_DAYS_AGO - 0.25),
    split,
    ...ticks('split', DEMO_SPLIT_DAYS_AGO, 0),
  ];
  /** The span of the greeter's production calls the shadow copied (its own demo traffic leaves it out). */
  const shadowSpan = (): { startMs: number; endMs: number } | undefined => {
    const copied = calls.filter((c) => c.rolloutId === started['shadow'] && c.arm === 'baseline');
    if (copied.length === 0) return undefined;
    return { startMs: window.startMs, endMs: Math.max(...copied.map((c) => c.trace.startedAtMs)) + 1 };
  };
  return { steps, shadowSpan };
};
