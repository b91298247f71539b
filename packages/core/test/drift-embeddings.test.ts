import { describe, expect, it } from 'vitest';
import {
  buildDriftReport,
  cosine,
  driftReportJson,
  driftReportText,
  meanEmbeddingDistance,
  type DriftPair,
} from '../src/index.js';

/**
 * Embedding similarity in the drift report: the cosine between paired outputs, the distance between mean
 * embeddings against a seeded permutation null for unpaired samples, a skipped provider noted without
 * failing the report, and bad vectors named by field. Reports without embeddings keep their bytes.
 */

const pairs: DriftPair[] = Array.from({ length: 12 }, (_, i) => ({
  id: `c${i}`,
  a: { output: `Hi user ${i}!` },
  b: { output: `Hello user ${i}!` },
}));

describe('cosine', () => {
  it('is 1 for the same direction, 0 for orthogonal, -1 for opposite', () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 5])).toBe(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
    // (1*4 + 2*5 + 3*6) / (sqrt(14) * sqrt(77)), by hand.
    expect(cosine([1, 2, 3], [4, 5, 6])).toBeCloseTo(32 / Math.sqrt(14 * 77), 12);
  });
});

describe('meanEmbeddingDistance', () => {
  it('finds two separated clouds far apart, and the same cloud not', () => {
    const cloud = (shift: number, n: number) =>
      Array.from({ length: n }, (_, i) => [shift + Math.sin(i * 1.7), Math.cos(i * 2.3), Math.sin(i * 0.9)]);
    const far = meanEmbeddingDistance(cloud(0, 30), cloud(2, 30), { alpha: 0.05 });
    expect(far.distance).toBeGreaterThan(far.threshold);
    expect(far.p).toBeCloseTo(1 / 201, 12);
    const same = meanEmbeddingDistance(cloud(0, 30), cloud(0, 30), { alpha: 0.05 });
    expect(same.distance).toBeCloseTo(0, 12);
    expect(same.p).toBeGreaterThan(0.9);
  });

  it('gives the same answer every time (seeded)', () => {
    const a = Array.from({ length: 20 }, (_, i) => [i % 3, (i * 7) % 5]);
    const b = Array.from({ length: 25 }, (_, i) => [(i % 4) + 0.2, (i * 3) % 5]);
    expect(meanEmbeddingDistance(a, b, { alpha: 0.05 })).toEqual(meanEmbeddingDistance(a, b, { alpha: 0.05 }));
  });
});

describe('the report’s embedding section', () => {
  it('paired: the cosine between the two outputs of each pair', () => {
    const report = buildDriftReport({
      versions: { a: 'v1', b: 'v2' },
      source: 'shadow',
      pairs,
      embeddings: {
        model: 'toy',
        a: pairs.map(() => [1, 0]),
        b: pairs.map((_, i) => (i === 0 ? [0, 1] : [1, 0])),
      },
    });
    expect(report.embedding).toEqual({
      status: 'computed',
      model: 'toy',
      note: null,
      paired: { measure: 'cosine', mean: 0.916667, median: 1, lowest: 0 },
      unpaired: null,
    });
    expect(driftReportText(report)).toContain(
      'Embedding similarity (toy): mean cosine 0.916667, median 1, lowest 0 between paired outputs',
    );
  });

  it('unpaired: the mean embeddings’ distance against the permutation null', () => {
    const samples = {
      a: Array.from({ length: 15 }, (_, i) => ({ output: `a${i}` })),
      b: Array.from({ length: 15 }, (_, i) => ({ output: `b${i}` })),
    };
    const input = {
      versions: { a: 'v1', b: 'v2' },
      source: 'live' as const,
      samples,
      embeddings: {
        model: 'toy',
        a: samples.a.map((_, i) => [1, (i % 5) / 10]),
        b: samples.b.map((_, i) => [0, 1 + (i % 5) / 10]),
      },
    };
    const report = buildDriftReport(input);
    expect(report.embedding?.unpaired).toMatchObject({ measure: 'mean-embedding-distance', drifted: true });
    expect(report.embedding!.unpaired!.p).toBeLessThan(0.05);
    expect(driftReportJson(buildDriftReport(input))).toBe(driftReportJson(report));
  });

  it('a failed provider is a note, not a failure; no embeddings asked for, no section', () => {
    const skipped = buildDriftReport({
      versions: { a: 'v1', b: 'v2' },
      source: 'shadow',
      pairs,
      embeddings: { model: 'toy', skipped: 'HTTP 500 from http://127.0.0.1:9/v1/embeddings' },
    });
    expect(skipped.embedding).toMatchObject({ status: 'skipped', note: expect.stringContaining('HTTP 500') });
    expect(driftReportText(skipped)).toContain('Embedding similarity (toy): skipped, HTTP 500');
    const plain = buildDriftReport({ versions: { a: 'v1', b: 'v2' }, source: 'shadow', pairs });
    expect(plain).not.toHaveProperty('embedding');
  });

  it('names a vector that does not fit', () => {
    expect(() =>
      buildDriftReport({
        versions: { a: 'v1', b: 'v2' },
        source: 'shadow',
        pairs,
        embeddings: { model: 'toy', a: pairs.map(() => [1, 0]), b: pairs.map((_, i) => (i === 3 ? [1] : [0, 1])) },
      }),
    ).toThrow(/embeddings\.b\[3\]/);
  });
});
