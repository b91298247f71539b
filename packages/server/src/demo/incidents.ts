import type { Actor, Clock } from '../context.js';
import { createIncidentService, type IncidentStores } from '../incidents/service.js';
import { ensureDefaultMonitors } from '../incidents/defaults.js';
import type { LabelService } from '../labels/service.js';
import type { ProjectRow } from '../registry/store.js';
import type { NewScore, NewTrace, TraceStore } from '../traces/store.js';
import { DEMO_MEMBERS } from './story.js';
import { prng } from './traces.js';

/**
 * The demo's incident #1, through the real monitor and incident services on the seed's clock:
 * - when the policy protects the greeter's `production`, carol adds a monitor on it that rolls back by
 *   itself (other protected labels get the default, notify-only monitor);
 * - dave's break-glass move of v18 (story.ts) starts answering without the customer's name; an online
 *   judge scores every answer (`helpfulness`), and thumbs-down rise;
 * - the monitor looks every minute, fires on the score drop once it has its 50 calls, opens the incident,
 *   notifies and rolls production back to v17 (an `auto-rollback`); carol acknowledges, and resolves it
 *   after the scores come back;
 * - hours later dave forces v18 again (the tour starts there: production has served v18 for two days).
 * The demo's week of traces is sparse (about 20 calls an hour, below the default monitor's 50 in its hour);
 * the hours around the move are seeded at a busy support bot's rate (`INCIDENT_CALLS_PER_HOUR`), and the
 * week's traces skip them (`span`).
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const GREETER = 'customer_support_greeter';
/** dave's first break glass (story.ts: v18 pushed 3 days ago, forced 0.65 days later) and his second. */
export const DEMO_FORCED_DAYS_AGO = 2.35;
export const DEMO_REFORCED_DAYS_AGO = 2;
const INCIDENT_CALLS_PER_HOUR = 120;
/** The busy hours: from an hour before the move (the monitor's baseline) to an hour after the rollback. */
const BEFORE_MS = 70 * MINUTE_MS;
const AFTER_MS = 60 * MINUTE_MS;
const LOOK_EVERY_MS = MINUTE_MS;
const GIVE_UP_MS = 90 * MINUTE_MS;

/** The seconds each person takes, after the monitor's notification. */
const ACK_AFTER_MS = 4 * MINUTE_MS;
const RESOLVE_AFTER_MS = 45 * MINUTE_MS;

export interface DemoIncidentStores extends IncidentStores {
  readonly traces: TraceStore;
}

const actorOf = (project: ProjectRow, name: string): Actor => {
  const member = DEMO_MEMBERS.find((m) => m.name === name)!;
  return {
    projectId: project.id,
    projectName: project.name,
    role: member.role,
    keyId: 'demo',
    stamp: 0,
    name,
    user: name,
  };
};

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Radia', 'Frances', 'Dennis'];
const ANSWERS = [
  'Your order left our warehouse yesterday and should arrive within two days.',
  'Use "Forgot password" on the sign-in page; the link in the email is valid for one hour.',
  'Yes: open the order, choose "Change address" and save before it ships.',
];
const CLOSE = 'Is there anything else I can help with?';

interface Served {
  readonly version: number;
  readonly sha: string;
  readonly greets: boolean;
}

/** The busy hours' calls in [fromMs, toMs), received in batches at the end of the minute they ended in. */
const insertCalls = async (
  stores: DemoIncidentStores,
  project: ProjectRow,
  random: () => number,
  served: Served,
  fromMs: number,
  toMs: number,
  counter: { next: number },
): Promise<void> => {
  const step = HOUR_MS / INCIDENT_CALLS_PER_HOUR;
  const batches = new Map<number, NewTrace[]>();
  const scores: NewScore[] = [];
  for (let at = fromMs + step * random(); at < toMs; at += step * (0.5 + random())) {
    const eventId = `busy-${counter.next}`;
    counter.next += 1;
    const name = NAMES[Math.floor(random() * NAMES.length)]!;
    const answer = ANSWERS[Math.floor(random() * ANSWERS.length)]!;
    const latencyMs = Math.round(450 + random() * 600);
    const startedAtMs = Math.round(at);
    const trace: NewTrace = {
      eventId,
      traceId: Math.floor(random() * 2 ** 52)
        .toString(16)
        .padStart(32, '0'),
      spanId: Math.floor(random() * 2 ** 52)
        .toString(16)
        .padStart(16, '0'),
      parentSpanId: null,
      promptName: GREETER,
      promptVersion: served.version,
      promptSha: served.sha,
      effectiveSha: null,
      label: 'production',
      tenant: null,
      rolloutId: null,
      rolloutArm: null,
      releaseSha: null,
      variables: JSON.stringify({ user_name: name, question: 'How can I get help?' }),
      output: served.greets ? `Hi ${name}! ${answer} ${CLOSE}` : `${answer} ${CLOSE}`,
      model: 'gpt-4o-mini',
      provider: 'openai',
      latencyMs,
      inputTokens: 110,
      outputTokens: 45,
      cost: Math.round((110 * 0.15 + 45 * 0.6) * 1000) / 1e9,
      status: 'ok',
      error: null,
      attributes: JSON.stringify({ 'service.name': 'support-bot' }),
      startedAtMs,
    };
    const receivedMs = Math.ceil((startedAtMs + latencyMs + 1) / MINUTE_MS) * MINUTE_MS;
    batches.set(receivedMs, [...(batches.get(receivedMs) ?? []), trace]);
    // The online judge scores every answer; about one customer in eight leaves a thumb.
    const helpfulness = served.greets ? 0.78 + random() * 0.2 : 0.45 + random() * 0.25;
    scores.push({
      eventId,
      name: 'helpfulness',
      kind: 'numeric',
      value: Math.round(helpfulness * 100) / 100,
      stringValue: null,
      comment: null,
      actor: 'support-bot-judge',
      createdAtMs: receivedMs,
    });
    if (random() < 0.12) {
      const down = random() < (served.greets ? 0.08 : 0.55);
      scores.push({
        eventId,
        name: 'feedback',
        kind: 'thumbs',
        value: down ? 0 : 1,
        stringValue: null,
        comment: null,
        actor: 'support-bot',
        createdAtMs: receivedMs + MINUTE_MS,
      });
    }
  }
  for (const [receivedMs, traces] of batches) await stores.traces.insertTraces(project.id, traces, receivedMs);
  for (const score of scores) await stores.traces.insertScore(project.id, score);
};

/**
 * The seed's steps for the incident: the default monitor when the policy is set, then (right after dave's
 * first break glass) the busy hours, the monitor's looks, carol's response, and dave's second break glass.
 * `travel` sets the seed's clock: the steps inside the incident depend on when the monitor fired.
 */
export const demoIncidentSteps = (
  stores: DemoIncidentStores,
  project: ProjectRow,
  clock: Clock,
  travel: (at: Date) => void,
  labels: LabelService,
): {
  steps: { daysAgo: number; run: () => Promise<void> }[];
  span: () => { startMs: number; endMs: number } | undefined;
} => {
  const incidents = createIncidentService(stores, clock, labels);
  let span: { startMs: number; endMs: number } | undefined;
  const run = async (): Promise<void> => {
    const prompt = await stores.registry.getPrompt(project.id, GREETER);
    if (prompt === undefined) return;
    const moves = await stores.registry.listDeployments(prompt.id, { label: 'production' });
    const forced = moves.at(-1)!;
    const version = async (sha: string): Promise<Served> => {
      const row = (await stores.registry.getVersionBySha(prompt.id, sha))!;
      return { version: row.version, sha, greets: row.content.includes('Always greet the user by name.') };
    };
    const [good, bad] = [await version(forced.fromSha!), await version(forced.toSha)];
    const forcedMs = Date.parse(forced.createdAt);
    const random = prng(21_2026);
    const counter = { next: 1 };
    // The hour before the move (the monitor's baseline), then v18 while the monitor looks each minute.
    span = { startMs: forcedMs - BEFORE_MS, endMs: forcedMs };
    await insertCalls(stores, project, random, good, forcedMs - BEFORE_MS, forcedMs, counter);
    let lookMs = forcedMs;
    let fired = false;
    while (!fired && lookMs < forcedMs + GIVE_UP_MS) {
      await insertCalls(stores, project, random, bad, lookMs, lookMs + LOOK_EVERY_MS, counter);
      lookMs += LOOK_EVERY_MS;
      travel(new Date(lookMs));
      fired = (await incidents.tick()).fired > 0;
    }
    if (!fired) throw new Error('demo: the default monitor did not fire on v18');
    const carol = actorOf(project, 'carol');
    const [incident] = await stores.incidents.listIncidents(project.id);
    // The monitor rolled production back as it fired: v17 answers from then on.
    const rolledBackMs = lookMs;
    await insertCalls(stores, project, random, good, rolledBackMs, rolledBackMs + AFTER_MS, counter);
    travel(new Date(lookMs + ACK_AFTER_MS));
    await incidents.acknowledge(carol, incident!.id);
    span = { startMs: forcedMs - BEFORE_MS, endMs: rolledBackMs + AFTER_MS };
    travel(new Date(lookMs + RESOLVE_AFTER_MS));
    await incidents.resolve(
      carol,
      incident!.id,
      `v${good.version} is back on production and helpfulness recovered; v${bad.version} stays in change request #2`,
    );
  };
  const steps = [
    // The policy protects the greeter's production from 8 days ago; carol's monitor rolls back by itself.
    {
      daysAgo: 8 - 1 / 1440,
      run: async () => {
        if ((await stores.registry.getPrompt(project.id, GREETER)) !== undefined) {
          await incidents.addMonitor(actorOf(project, 'carol'), GREETER, {
            label: 'production',
            config: { action: 'rollback' },
          });
        }
        await ensureDefaultMonitors(stores, clock);
      },
    },
    { daysAgo: DEMO_FORCED_DAYS_AGO - 1 / 1440, run },
    {
      daysAgo: DEMO_REFORCED_DAYS_AGO,
      run: async () =>
        void (await labels.promote(actorOf(project, 'dave'), GREETER, 'production', {
          ref: 'v18',
          reason: 'the monitor is noise: a wording fix cannot hurt; change request #2 is waiting for a review',
          force: true,
        })),
    },
  ];
  return { steps, span: () => span };
};
