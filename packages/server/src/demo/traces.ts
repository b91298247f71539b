import { LATEST_LABEL } from '@promptops/core';
import type { ProjectRow, RegistryReads } from '../registry/store.js';
import type { NewTrace, TraceStore } from '../traces/store.js';

/**
 * A week of production traffic for `customer_support_greeter`, deterministic (seeded PRNG): while
 * production serves v15 and v17 the answers greet the user by name; after v18 (the "wording fix") is
 * promoted they do not, and thumbs-down feedback rises. Trace `4481` is the complaint of the story.
 */

const GREETER = 'customer_support_greeter';
const DAY_MS = 86_400_000;
export const DEMO_TRACE_COUNT = 3600;
export const DEMO_COMPLAINT_ID = '4481';
/** The week's calls reach the server in hourly batches (monitors and incidents read traces by that time). */
const BATCH_MS = 3_600_000;

/** mulberry32: small, fast, and the same sequence on every run. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Radia', 'Frances', 'Dennis'];
const QUESTIONS: [string, string][] = [
  ['Where is my order?', 'Your order left our warehouse yesterday and should arrive within two days.'],
  [
    'How do I reset my password?',
    'Use "Forgot password" on the sign-in page; the link in the email is valid for one hour.',
  ],
  ['Can I change my delivery address?', 'Yes: open the order, choose "Change address" and save before it ships.'],
  [
    'Why was I charged twice?',
    'The second charge is a pending authorization; it disappears within three business days.',
  ],
  ['Do you ship to Canada?', 'Yes, we ship to Canada; delivery takes five to seven business days.'],
];
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
const CLOSE = 'Is there anything else I can help with?';
const COMPLAINTS = [
  'It did not even use my name.',
  'Felt cold and robotic.',
  'Used to greet me personally, now it does not.',
  'Impersonal answer.',
];

export const seedDemoTraces = async (
  { registry, traces: store }: { readonly registry: RegistryReads; readonly traces: TraceStore },
  project: ProjectRow,
  now: Date,
  /** Spans whose calls other demo steps recorded themselves (the shadow rollout, the incident): not made twice. */
  skip: readonly { readonly startMs: number; readonly endMs: number }[] = [],
): Promise<void> => {
  const prompt = await registry.getPrompt(project.id, GREETER);
  if (prompt === undefined) return;
  const moves = (await registry.listDeployments(prompt.id, { label: 'production' })).filter(
    (d) => d.label !== LATEST_LABEL,
  );
  const versions = new Map<string, { version: number; greets: boolean }>();
  for (const move of moves) {
    const row = await registry.getVersionBySha(prompt.id, move.toSha);
    if (row !== undefined)
      versions.set(row.sha, { version: row.version, greets: row.content.includes('Always greet the user by name.') });
  }
  const servedAt = (ms: number): string | undefined => {
    let sha: string | undefined;
    for (const move of moves) if (Date.parse(move.createdAt) <= ms) sha = move.toSha;
    return sha;
  };

  const random = prng(20_251_125);
  const start = now.getTime() - 7 * DAY_MS;
  const step = (7 * DAY_MS) / DEMO_TRACE_COUNT;
  const traces: NewTrace[] = [];
  const scores: { eventId: string; up: boolean; comment: string | null; atMs: number }[] = [];
  for (let i = 0; i < DEMO_TRACE_COUNT; i += 1) {
    const startedAtMs = Math.round(start + i * step + random() * step * 0.8);
    const sha = servedAt(startedAtMs);
    const served = sha === undefined ? undefined : versions.get(sha);
    if (sha === undefined || served === undefined) continue;
    if (skip.some((span) => startedAtMs >= span.startMs && startedAtMs < span.endMs)) continue;
    const eventId = String(1000 + i);
    const name = NAMES[Math.floor(random() * NAMES.length)]!;
    const [question, answer] = QUESTIONS[Math.floor(random() * QUESTIONS.length)]!;
    const failed = random() < 0.015;
    const latencyMs = Math.round(450 + random() * 600 + (random() < 0.05 ? 2000 : 0));
    const inputTokens = 90 + Math.floor(random() * 40);
    const outputTokens = failed ? 0 : 35 + Math.floor(random() * 40);
    traces.push({
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
      promptSha: sha,
      effectiveSha: null,
      label: 'production',
      tenant: TENANTS[Math.floor(random() * TENANTS.length)]!,
      rolloutId: null,
      rolloutArm: null,
      releaseSha: null,
      variables: JSON.stringify({ user_name: name, question }),
      output: failed ? null : served.greets ? `Hi ${name}! ${answer} ${CLOSE}` : `${answer} ${CLOSE}`,
      model: 'gpt-4o-mini',
      provider: 'openai',
      latencyMs: failed ? 30_000 : latencyMs,
      inputTokens,
      outputTokens,
      cost: Math.round((inputTokens * 0.15 + outputTokens * 0.6) * 1000) / 1e9,
      status: failed ? 'error' : 'ok',
      error: failed ? 'upstream timeout after 30 s' : null,
      attributes: JSON.stringify({ 'service.name': 'support-bot' }),
      startedAtMs,
    });
    // About one answer in eight gets feedback; thumbs down jumps once answers stop greeting by name.
    const complaint = eventId === DEMO_COMPLAINT_ID;
    if (!failed && (complaint || random() < 0.12)) {
      const down = complaint || random() < (served.greets ? 0.08 : 0.55);
      const comment = complaint
        ? 'The assistant did not greet me by name; it always used to.'
        : down && random() < 0.5
          ? COMPLAINTS[Math.floor(random() * COMPLAINTS.length)]!
          : null;
      scores.push({ eventId, up: !down, comment, atMs: startedAtMs + 60_000 });
    }
  }
  // Received at the end of the hour they ended in (or now): consecutive calls of one hour are one batch.
  const receivedAt = (trace: NewTrace): number =>
    Math.min(now.getTime(), Math.ceil((trace.startedAtMs + (trace.latencyMs ?? 0) + 1) / BATCH_MS) * BATCH_MS);
  for (let offset = 0; offset < traces.length;) {
    const at = receivedAt(traces[offset]!);
    let end = offset + 1;
    while (end < traces.length && receivedAt(traces[end]!) === at) end += 1;
    await store.insertTraces(project.id, traces.slice(offset, end), at);
    offset = end;
  }
  for (const score of scores) {
    await store.insertScore(project.id, {
      eventId: score.eventId,
      name: 'feedback',
      kind: 'thumbs',
      value: score.up ? 1 : 0,
      stringValue: null,
      comment: score.comment,
      actor: 'support-bot',
      createdAtMs: Math.min(score.atMs, now.getTime()),
    });
  }
};
