import {
  DEFAULT_DRIFT_OPTIONS,
  adjustPValues,
  buildDriftReport,
  comparePaired,
  describeOutput,
  descriptorSpec,
  type DescriptorRecord,
  type DriftPair,
} from '@promptops/core';
import { referenceStatistics } from './reference.js';

/**
 * bench/drift: one drift report over 10,000 paired outputs (synthetic, 40-400 words each, every
 * descriptor family present), timed end to end and per descriptor family, with its memory; then the same
 * statistics by a straightforward reference implementation (reference.ts), side by side, equal to 1e-6.
 * `BENCH_PAIRS` changes the size.
 */

const PAIRS = Number(process.env.BENCH_PAIRS ?? 10_000);
const NAMES = ['Alice', 'Bob', 'Chen', 'Dana', 'Emeka', 'Farah', 'Gustavo', 'Hana', 'Ivan', 'Jun', 'Kofi', 'Lena'];
const WORDS =
  'your order account refund password invoice parcel settings billing plan delivery address support team steps page help center guide minutes today details email code number card subscription data export discount return receipt'.split(
    ' ',
  );

/** A deterministic generator (mulberry32): the same outputs on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const rnd = random(42);
const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;
const sentence = (words: number): string => {
  const out: string[] = [];
  for (let i = 0; i < words; i += 1) out.push(pick(WORDS));
  return `${out.join(' ')}.`;
};
const body = (words: number): string => {
  const parts: string[] = [];
  for (let left = words; left > 0; left -= 12) parts.push(sentence(Math.min(12, left)));
  return parts.join(' ');
};

/** One output: a greeting (by name or not), 40-400 words, sometimes a list, code, JSON or a refusal. */
const output = (name: string, byName: boolean): { output: string; tokens: number; latencyMs: number } => {
  const r = rnd();
  let text: string;
  if (r < 0.05) text = JSON.stringify({ greeting: byName ? `Hello, ${name}!` : 'Hello!', answer: body(30) });
  else if (r < 0.07) text = "I'm sorry, but I can't help with that request.";
  else {
    const words = 40 + Math.floor(rnd() * 360);
    const list = rnd() < 0.2 ? `\n- ${sentence(6)}\n- ${sentence(6)}\n- ${sentence(6)}\n` : '';
    const code = rnd() < 0.03 ? '\n```\npromptops status\n```\n' : '';
    text = `${byName ? `Hello, ${name}!` : 'Hello!'} ${body(words)}${list}${code} Is there anything else I can help with?`;
  }
  const tokens = Math.round(text.length / 4);
  return { output: text, tokens, latencyMs: 300 + tokens * 8 + Math.round(rnd() * 200) };
};

const pairs: DriftPair[] = Array.from({ length: PAIRS }, (_, i) => {
  const name = pick(NAMES);
  const a = output(name, true);
  // B: a wording change that drops the name in 30 % of the cases.
  const b = output(name, rnd() >= 0.3);
  const assertions = (o: { output: string }) => ({
    'mentions-var': o.output.includes(name),
    'ends-with': o.output.endsWith('help with?'),
    'not-icontains': !/as an ai/i.test(o.output),
  });
  return {
    id: `case-${i}`,
    vars: { user_name: name, question: 'How do I reset my password?' },
    a: { ...a, assertions: assertions(a) },
    b: { ...b, assertions: assertions(b) },
  };
});

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// Warm up the code paths once on a small slice (JIT), then measure.
buildDriftReport({ versions: { a: 'v1', b: 'v2' }, source: 'offline', pairs: pairs.slice(0, 200) });
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
let start = process.hrtime.bigint();
const report = buildDriftReport({ versions: { a: 'v1', b: 'v2' }, source: 'offline', pairs });
const total = ms(start);
rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
clearInterval(sampler);

// The same work in its parts: descriptors of every output, then each family's tests.
start = process.hrtime.bigint();
const recordsA: DescriptorRecord[] = pairs.map((p) => describeOutput(p.a, { vars: p.vars ?? {} }));
const recordsB: DescriptorRecord[] = pairs.map((p) => describeOutput(p.b, { vars: p.vars ?? {} }));
const describeMs = ms(start);
const names = report.descriptors.map((d) => d.name);
const pairedValues = (name: string) =>
  recordsA.flatMap((ra, i) => {
    const x = ra[name];
    const y = recordsB[i]![name];
    return x === undefined || y === undefined ? [] : [[x, y] as [typeof x, typeof y]];
  });
const perFamily = new Map<string, number>();
const coreP: number[] = [];
let coreStatsMs = 0;
for (const name of names) {
  const values = pairedValues(name);
  start = process.hrtime.bigint();
  const comparison = comparePaired(descriptorSpec(name)!.kind, values, DEFAULT_DRIFT_OPTIONS);
  const took = ms(start);
  coreStatsMs += took;
  const family = descriptorSpec(name)!.family;
  perFamily.set(family, (perFamily.get(family) ?? 0) + took);
  coreP.push(comparison.test?.pValue ?? Number.NaN);
}
start = process.hrtime.bigint();
adjustPValues(coreP, 'holm');
coreStatsMs += ms(start);

// The reference: the same descriptors' statistics, the straightforward way.
const inputs = names.map((name) => ({ name, kind: descriptorSpec(name)!.kind, pairs: pairedValues(name) }));
start = process.hrtime.bigint();
const reference = referenceStatistics(inputs);
const referenceMs = ms(start);

let worst = 0;
const mismatches: string[] = [];
for (const d of report.descriptors) {
  const r = reference.find((x) => x.name === d.name)!;
  for (const [what, ours, theirs] of [
    ['p', d.p, r.p],
    ['adjusted p', d.adjustedP, r.adjusted],
  ] as const) {
    // The report rounds to 6 significant digits: compare relative to the value, absolute near zero.
    const diff = Math.abs(ours! - theirs);
    const scale = Math.max(Math.abs(theirs), 1e-300);
    const rel = diff / scale;
    worst = Math.max(worst, Math.min(diff, rel));
    if (diff > 1e-6 && rel > 1e-5) mismatches.push(`${d.name} ${what}: ${ours} vs ${theirs}`);
  }
  if (d.drifted !== r.adjusted < report.alpha) mismatches.push(`${d.name}: drifted ${d.drifted} vs ${!d.drifted}`);
}

console.log(`drift report over ${PAIRS.toLocaleString('en')} paired outputs, ${names.length} descriptors`);
console.log(`verdict: ${report.verdict}`);
console.log('');
console.log(`| measure                         | figure      | target   |`);
console.log(`| ------------------------------- | ----------- | -------- |`);
console.log(`| report, end to end              | ${total.toFixed(0).padStart(6)} ms   | < 1 s    |`);
console.log(`| memory (peak RSS growth)        | ${mb(rssPeak - rssBefore).padStart(9)}   | < 200 MB |`);
console.log(`| memory (RSS at the end)         | ${mb(rssPeak).padStart(9)}   |          |`);
console.log('');
console.log(`| part                            | ms     |`);
console.log(`| ------------------------------- | ------ |`);
console.log(`| descriptors (20,000 outputs)    | ${describeMs.toFixed(0).padStart(6)} |`);
for (const [family, took] of perFamily) console.log(`| tests: ${family.padEnd(24)} | ${took.toFixed(1).padStart(6)} |`);
console.log('');
console.log(`| statistics of all descriptors   | ms     |`);
console.log(`| ------------------------------- | ------ |`);
console.log(`| core (compare + Holm)           | ${coreStatsMs.toFixed(1).padStart(6)} |`);
console.log(`| reference (sort-based)          | ${referenceMs.toFixed(1).padStart(6)} |`);
console.log(`| speedup                         | x${(referenceMs / coreStatsMs).toFixed(2).padStart(5)} |`);
console.log('');
console.log(
  mismatches.length === 0
    ? `equal results: every p and adjusted p of ${report.descriptors.length} descriptors within 1e-6 (worst ${worst.toExponential(1)}), same drifted flags`
    : `MISMATCHES:\n${mismatches.join('\n')}`,
);
if (mismatches.length > 0) process.exitCode = 1;
