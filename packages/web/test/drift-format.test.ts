import { describe, expect, it } from 'vitest';
import type { DriftDescriptorResult, DriftReportListItem } from '../src/api/types';
import {
  adjustedPText,
  differenceText,
  driftedText,
  embeddingText,
  sampleText,
  sideText,
  sourceText,
  testText,
} from '../src/pages/drift/drift-format';

/** The drift report's table cells and list columns, as a person reads them. */

const descriptor = (over: Partial<DriftDescriptorResult>): DriftDescriptorResult => ({
  name: 'mentions.user_name',
  family: 'mentions',
  kind: 'binary',
  words: "mention the user's name",
  status: 'tested',
  minimum: 10,
  count: { a: 20, b: 20 },
  a: 1,
  b: 0,
  difference: { measure: 'rate difference', estimate: -1, lower: -1, upper: -0.759533 },
  test: 'mcnemar',
  method: 'exact',
  statistic: 0,
  p: 0.00000190735,
  adjustedP: 0.0000267029,
  drifted: true,
  ...over,
});

const numeric = descriptor({
  name: 'length.chars',
  kind: 'numeric',
  words: 'length',
  unit: 'characters',
  a: 199.5,
  b: 193.5,
  difference: { measure: 'median difference', estimate: -6, lower: -7, upper: -6 },
  test: 'wilcoxon',
  method: 'asymptotic',
  adjustedP: 0.012345,
});

const categorical = descriptor({
  name: 'opening',
  kind: 'categorical',
  words: 'open with',
  minimum: 20,
  a: { greeting: 0.75, question: 0.25, other: 0 },
  b: { greeting: 1 },
  difference: { measure: 'Jensen-Shannon distance', estimate: 0.212, lower: null, upper: null },
  test: 'chi-square',
  method: 'asymptotic',
  adjustedP: 0.2,
  drifted: false,
});

describe('sideText', () => {
  it('shows a rate as a percentage, a median with its unit, and shares per class (empty ones left out)', () => {
    const binary = descriptor({});
    expect(sideText(binary, binary.a)).toBe('100 %');
    expect(sideText(binary, binary.b)).toBe('0 %');
    expect(sideText(numeric, numeric.a)).toBe('199.5 characters');
    expect(sideText(descriptor({ kind: 'numeric', a: 0.0059691234 }), 0.0059691234)).toBe('0.005969');
    expect(sideText(categorical, categorical.a)).toBe('greeting 75 %, question 25 %');
  });

  it('shows a dash when a side has no value', () => {
    expect(sideText(numeric, null)).toBe('–');
  });
});

describe('differenceText', () => {
  it('gives a rate difference in percentage points with its interval', () => {
    expect(differenceText(descriptor({}))).toBe('−100 pts [−100, −76]');
  });

  it('gives a median difference in the descriptor’s unit with its interval', () => {
    expect(differenceText(numeric)).toBe('−6 characters [−7, −6]');
    expect(
      differenceText(
        descriptor({ kind: 'numeric', difference: { measure: 'median difference', estimate: 2, lower: 0, upper: 3 } }),
      ),
    ).toBe('+2 [0, +3]');
  });

  it('gives the Jensen-Shannon distance of a categorical descriptor, which has no interval', () => {
    expect(differenceText(categorical)).toBe('JS distance 0.212');
  });

  it('leaves out a missing bound and shows a dash with no difference', () => {
    expect(
      differenceText(
        descriptor({ difference: { measure: 'rate difference', estimate: 0.05, lower: null, upper: null } }),
      ),
    ).toBe('+5 pts');
    expect(differenceText(descriptor({ difference: null }))).toBe('–');
  });
});

describe('testText', () => {
  it('names each test in full, with how its p was computed', () => {
    expect(testText(descriptor({}))).toBe('McNemar (exact)');
    expect(testText(numeric)).toBe('Wilcoxon signed-rank (asymptotic)');
    expect(testText(descriptor({ test: 'mann-whitney', method: 'exact' }))).toBe('Mann-Whitney U (exact)');
    expect(testText(descriptor({ test: 'ks', method: null }))).toBe('Kolmogorov-Smirnov');
    expect(testText(descriptor({ test: 'two-proportion-z', method: 'asymptotic' }))).toBe(
      'two-proportion z (asymptotic)',
    );
    expect(testText(descriptor({ test: 'something-new', method: null }))).toBe('something-new');
    expect(testText(descriptor({ test: null, status: 'not enough data' }))).toBe('–');
  });
});

describe('adjustedPText and driftedText', () => {
  it('says p < 0.001 below a thousandth and three decimals above', () => {
    expect(adjustedPText(descriptor({}))).toBe('< 0.001');
    expect(adjustedPText(numeric)).toBe('0.012');
    expect(adjustedPText(descriptor({ adjustedP: 1 }))).toBe('1.000');
    expect(adjustedPText(descriptor({ adjustedP: null, status: 'not enough data' }))).toBe('–');
  });

  it('says yes, no, or "not enough data" when the descriptor was not tested', () => {
    expect(driftedText(descriptor({}))).toBe('yes');
    expect(driftedText(categorical)).toBe('no');
    expect(driftedText(descriptor({ status: 'not enough data', drifted: false }))).toBe('not enough data');
  });
});

describe('sampleText', () => {
  it('counts paired cases, or the outputs of each side when unpaired', () => {
    expect(sampleText({ paired: true, n: { a: 20, b: 20, pairs: 20 } })).toBe('20 paired cases');
    expect(sampleText({ paired: true, n: { a: 1, b: 1, pairs: 1 } })).toBe('1 paired case');
    expect(sampleText({ paired: false, n: { a: 1200, b: 58, pairs: null } })).toBe('1,200 vs 58 outputs');
  });
});

describe('sourceText', () => {
  const item = (over: Partial<DriftReportListItem>): DriftReportListItem => ({
    id: '1',
    prompt: 'greeter',
    a: { sha: 'a'.repeat(64), version: 17 },
    b: { sha: 'b'.repeat(64), version: 18 },
    source: 'offline',
    suite: 'greeter-customers',
    window: null,
    drifted: true,
    verdict: 'v18 drifted: …',
    createdBy: 'bob',
    createdAt: '2026-03-10T12:00:00Z',
    ...over,
  });

  it('names the suite of an offline report and the window of a live one', () => {
    expect(sourceText(item({}))).toBe('offline · greeter-customers');
    expect(
      sourceText(
        item({
          source: 'live',
          suite: null,
          window: { since: '2026-03-09T12:00:00.000Z', until: '2026-03-10T12:00:00.000Z' },
        }),
      ),
    ).toBe('live · 2026-03-09 12:00 → 2026-03-10 12:00 UTC');
    expect(sourceText(item({ source: 'shadow', suite: null }))).toBe('shadow');
  });
});

describe('embeddingText', () => {
  const base = { status: 'computed' as const, model: 'toy', note: null, paired: null, unpaired: null };
  it('says nothing without an embedding section', () => {
    expect(embeddingText({})).toBeNull();
  });
  it('gives the paired cosine, the unpaired distance against its null, or why they are missing', () => {
    expect(
      embeddingText({ embedding: { ...base, paired: { measure: 'cosine', mean: 0.9123, median: 0.95, lowest: 0.2 } } }),
    ).toBe('embedding similarity (toy): mean cosine 0.912 between paired outputs (lowest 0.2)');
    expect(
      embeddingText({
        embedding: {
          ...base,
          unpaired: {
            measure: 'mean-embedding-distance',
            distance: 0.31,
            threshold: 0.12,
            p: 0.004975,
            resamples: 200,
            drifted: true,
          },
        },
      }),
    ).toBe('embedding similarity (toy): mean embeddings 0.31 apart, random splits 0.12 (p = 0.005): moved');
    expect(embeddingText({ embedding: { ...base, status: 'skipped', note: 'HTTP 500' } })).toBe(
      'embedding similarity (toy): skipped, HTTP 500',
    );
  });
});
