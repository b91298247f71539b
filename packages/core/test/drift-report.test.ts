import { describe, expect, it } from 'vitest';
import { PromptopsError } from '../src/errors.js';
import { buildDriftReport, driftReportJson, driftReportText, type DriftPair } from '@promptops/core/drift';

/** A seeded generator (mulberry32): the simulations are the same on every run. */
const random = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const NAMES = ['Ann', 'Bilal', 'Chen', 'Dana', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jun'];
const TOPICS = ['a late order', 'a refund', 'a password reset', 'a broken charger', 'an invoice'];
const FILLER = 'we checked your account and everything looks fine on our side so far today'.split(' ');

/** A support answer of varying length; `greet` decides whether it names the user. */
const answer = (next: () => number, name: string, topic: string, greet: boolean, words = ['help', 'with']): string => {
  const opening = greet ? `Hello, ${name}!` : 'Hello!';
  const body = Array.from({ length: 8 + Math.floor(next() * 30) }, () => FILLER[Math.floor(next() * FILLER.length)]);
  const list = next() < 0.2 ? '\n- check the app\n- reply to this message\n' : ' ';
  return `${opening} I can ${words[0]} you ${words[1]} ${topic}: ${body.join(' ')}.${list}Let me know if anything else comes up.`;
};

const greeterPairs = (cases: number, seed: number, bGreets: boolean): DriftPair[] => {
  const next = random(seed);
  return Array.from({ length: cases }, (_, i) => {
    const vars = { user_name: NAMES[i % NAMES.length]!, topic: TOPICS[i % TOPICS.length]! };
    return {
      id: `case-${i + 1}`,
      vars,
      a: { output: answer(next, vars.user_name, vars.topic, true), latencyMs: 400 + Math.floor(next() * 300) },
      b: { output: answer(next, vars.user_name, vars.topic, bGreets), latencyMs: 400 + Math.floor(next() * 300) },
    };
  });
};

describe('the greeter: v18 stops greeting by name', () => {
  it('finds the drift with 20 paired cases and says so first', () => {
    const report = buildDriftReport({
      versions: { a: 'v17', b: 'v18' },
      source: 'offline',
      pairs: greeterPairs(20, 1, false),
    });
    expect(report.drifted).toBe(true);
    expect(report.verdict).toMatch(
      /^v18 drifted: outputs mention the user's name 0 % vs 100 % of the time \(20 paired cases, p < 0\.001\)/,
    );
    expect(report.verdict).toMatch(/; length, .*format.* unchanged\.$/);
    const mention = report.descriptors.find((d) => d.name === 'mentions.user_name')!;
    expect(mention).toMatchObject({ status: 'tested', test: 'mcnemar', a: 1, b: 0, drifted: true });
    expect(mention.difference).toMatchObject({ estimate: -1 });
    expect(mention.difference!.upper).toBeLessThan(0);
    expect(report.descriptors.find((d) => d.name === 'mentions.topic')).toMatchObject({ drifted: false });
    expect(report.examples.length).toBe(3);
    expect(report.examples[0]!.differs).toContain('mentions.user_name');
    const text = driftReportText(report).split('\n');
    expect(text[0]).toBe(report.verdict);
    expect(text.find((line) => line.startsWith('mentions.user_name'))).toMatch(
      /100 %\s+0 %\s+-100 pts \[-100, -7\d\]\s+mcnemar\s+< 0\.001\s+yes$/,
    );
  });

  it('says "not enough data" with 3 cases rather than guessing', () => {
    const report = buildDriftReport({
      versions: { a: 'v17', b: 'v18' },
      source: 'offline',
      pairs: greeterPairs(3, 1, false),
    });
    expect(report.drifted).toBe(false);
    expect(report.verdict).toBe('v18 vs v17: not enough data to tell (3 paired cases; at least 10 needed)');
    expect(report.descriptors.find((d) => d.name === 'mentions.user_name')).toMatchObject({
      status: 'not enough data',
      drifted: false,
      p: null,
    });
  });
});

it('a synonym-only wording change is no drift', () => {
  const next = random(7);
  const pairs: DriftPair[] = Array.from({ length: 40 }, (_, i) => {
    const vars = { user_name: NAMES[i % NAMES.length]!, topic: TOPICS[i % TOPICS.length]! };
    return {
      vars,
      a: { output: answer(next, vars.user_name, vars.topic, true, ['help', 'with']) },
      b: { output: answer(next, vars.user_name, vars.topic, true, ['assist', 'on']) },
    };
  });
  const report = buildDriftReport({ versions: { a: 'v17', b: 'v17b' }, source: 'offline', pairs });
  expect(report.verdict).toMatch(/^v17b did not drift from v17: /);
  expect(report.drifted).toBe(false);
  expect(report.similarity!.mean).toBeLessThan(1); // the words did change
});

it('gives byte-identical JSON for the same inputs', () => {
  const input = { versions: { a: 'v17', b: 'v18' }, source: 'shadow' as const, pairs: greeterPairs(30, 3, false) };
  const first = driftReportJson(buildDriftReport(input));
  const second = driftReportJson(buildDriftReport(structuredClone(input)));
  expect(second).toBe(first);
  expect(first.startsWith('{\n  "verdict": "v18 drifted:')).toBe(true);
  // Numbers are rounded to 6 significant digits, so the last bits of a float never show.
  const numbers: number[] = [];
  JSON.parse(first, (_, value: unknown) => (typeof value === 'number' && numbers.push(value), value));
  expect(numbers.length).toBeGreaterThan(50);
  expect(numbers.filter((x) => Number(x.toPrecision(6)) !== x)).toEqual([]);
});

it('compares unpaired samples (live windows) with unpaired tests', () => {
  const next = random(11);
  const sample = (greets: boolean) =>
    Array.from({ length: 60 }, (_, i) => {
      const vars = { user_name: NAMES[i % NAMES.length]!, topic: TOPICS[i % TOPICS.length]! };
      return { vars, output: answer(next, vars.user_name, vars.topic, greets), tokens: 30 + Math.floor(next() * 40) };
    });
  const report = buildDriftReport({
    versions: { a: 'v17', b: 'v18' },
    source: 'live',
    samples: { a: sample(true), b: sample(false) },
  });
  expect(report.paired).toBe(false);
  expect(report.verdict).toMatch(
    /^v18 drifted: outputs mention the user's name 0 % vs 100 % of the time \(60 vs 60 outputs/,
  );
  const byName = new Map(report.descriptors.map((d) => [d.name, d]));
  expect(byName.get('mentions.user_name')!.test).toBe('two-proportion-z');
  expect(byName.get('tokens')!.test).toBe('mann-whitney');
  expect(byName.get('opening')!.test).toBe('chi-square');
  expect(report.examples).toEqual([]);
});

it('refuses bad input naming the field', () => {
  const bad = (input: unknown): PromptopsError => {
    try {
      buildDriftReport(input as never);
    } catch (error) {
      return error as PromptopsError;
    }
    throw new Error('expected an error');
  };
  const error = bad({
    versions: { a: 'v1', b: 'v2' },
    source: 'offline',
    pairs: [{ a: { output: 1 } }],
    options: { alpha: 2 },
  });
  expect(error).toBeInstanceOf(PromptopsError);
  expect(error.code).toBe('invalid_drift_input');
  expect(error.message).toContain('pairs[0].a.output');
  expect(error.message).toContain('pairs[0].b');
  expect(error.message).toContain('options.alpha');
  expect(bad({ versions: { a: 'v1', b: 'v2' }, source: 'offline' }).message).toContain('either pairs');
});

describe('calibration: two identical versions', () => {
  it.each([
    ['paired', true],
    ['unpaired', false],
  ])('%s: the share of 500 comparisons that say "drifted" stays at alpha or below', (_, paired) => {
    const next = random(paired ? 2024 : 2025);
    const draw = (vars: { user_name: string; topic: string }) => ({
      output: answer(next, vars.user_name, vars.topic, next() < 0.7),
      latencyMs: 300 + Math.floor(next() * 500),
      tokens: 20 + Math.floor(next() * 60),
      assertions: { short: next() < 0.6 },
    });
    const alpha = 0.05;
    let drifted = 0;
    for (let run = 0; run < 500; run += 1) {
      const cases = Array.from({ length: 40 }, (_, i) => ({
        user_name: NAMES[(i + run) % NAMES.length]!,
        topic: TOPICS[i % TOPICS.length]!,
      }));
      const report = paired
        ? buildDriftReport({
            versions: { a: 'a', b: 'b' },
            source: 'offline',
            pairs: cases.map((vars) => ({ vars, a: draw(vars), b: draw(vars) })),
          })
        : buildDriftReport({
            versions: { a: 'a', b: 'b' },
            source: 'live',
            samples: {
              a: cases.map((vars) => ({ vars, ...draw(vars) })),
              b: cases.map((vars) => ({ vars, ...draw(vars) })),
            },
          });
      if (report.drifted) drifted += 1;
    }
    const share = drifted / 500;
    // One-sided 99 % binomial margin around alpha: 2.326 √(alpha (1 − alpha) / 500) ≈ 0.023.
    const margin = 2.326 * Math.sqrt((alpha * (1 - alpha)) / 500);
    console.log(
      `calibration (${paired ? 'paired' : 'unpaired'}): ${drifted}/500 = ${share} drifted (alpha ${alpha}, margin ${margin.toFixed(4)})`,
    );
    expect(share).toBeLessThanOrEqual(alpha + margin);
  });
});
