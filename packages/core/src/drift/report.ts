import { adjustPValues } from '../stats/adjust.js';
import { comparePaired, compareUnpaired, type SideValue } from './compare.js';
import {
  describeOutput,
  descriptorSpec,
  pairSimilarity,
  type DescriptorRecord,
  type DescriptorValue,
} from './descriptors.js';
import { embeddingResult } from './embeddings.js';
import { checkDriftInput, type DriftReportInput } from './input.js';
import {
  DRIFT_REPORT_FORMAT,
  type DriftDescriptorResult,
  type DriftExample,
  type DriftReport,
} from './report-types.js';
import { verdictInWords } from './verdict.js';

const FAMILY_ORDER = [
  'length',
  'mentions',
  'JSON',
  'refusals',
  'phrasing',
  'format',
  'tokens',
  'latency',
  'assertions',
];
const EXAMPLE_CHARACTERS = 600;

/** Six significant digits: the JSON is the same wherever the last bits of a float differ. */
const round = (x: number): number => {
  const r = Number(x.toPrecision(6));
  return Object.is(r, -0) ? 0 : r;
};
const roundOrNull = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : round(x);
const roundSide = (v: SideValue | null): SideValue | null =>
  v === null
    ? null
    : typeof v === 'number'
      ? round(v)
      : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));

const clipText = (text: string): string => {
  const points = [...text];
  return points.length <= EXAMPLE_CHARACTERS ? text : `${points.slice(0, EXAMPLE_CHARACTERS).join('')}…`;
};

const orderedNames = (records: readonly DescriptorRecord[]): string[] => {
  const names = new Set<string>();
  for (const record of records) for (const name of Object.keys(record)) names.add(name);
  const rank = (name: string): number => FAMILY_ORDER.indexOf(descriptorSpec(name)!.family);
  return [...names]
    .filter((n) => descriptorSpec(n) !== undefined)
    .sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0));
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Compares version B's outputs with version A's, descriptor by descriptor, and says in words whether
 * and how B drifted. Tests run only where the sample reaches the descriptor's minimum; their p-values are
 * corrected together (Holm by default), and a descriptor drifted when its adjusted p is below alpha.
 * The same input gives the same report, byte for byte, through `driftReportJson`.
 */
export const buildDriftReport = (raw: DriftReportInput): DriftReport => {
  const input = checkDriftInput(raw);
  const { options } = input;
  const describe = { ...(options.jsonSchema === undefined ? {} : { jsonSchema: options.jsonSchema }) };
  const paired = input.pairs !== undefined;
  let recordsA: DescriptorRecord[];
  let recordsB: DescriptorRecord[];
  if (paired) {
    recordsA = input.pairs!.map((p) => describeOutput(p.a, { ...describe, vars: p.vars ?? {} }));
    recordsB = input.pairs!.map((p) => describeOutput(p.b, { ...describe, vars: p.vars ?? {} }));
  } else {
    recordsA = input.samples!.a.map((s) => describeOutput(s, { ...describe, vars: s.vars ?? {} }));
    recordsB = input.samples!.b.map((s) => describeOutput(s, { ...describe, vars: s.vars ?? {} }));
  }
  const names = orderedNames([...recordsA, ...recordsB]);
  const compared = names.map((name) => {
    const spec = descriptorSpec(name)!;
    const comparison = paired
      ? comparePaired(
          spec.kind,
          recordsA.flatMap((ra, i): [DescriptorValue, DescriptorValue][] => {
            const x = ra[name];
            const y = recordsB[i]![name];
            return x === undefined || y === undefined ? [] : [[x, y]];
          }),
          options,
        )
      : compareUnpaired(
          spec.kind,
          recordsA.flatMap((r) => (r[name] === undefined ? [] : [r[name]])),
          recordsB.flatMap((r) => (r[name] === undefined ? [] : [r[name]])),
          options,
        );
    return { name, spec, comparison };
  });
  const testedIndexes = compared.flatMap((c, i) => (c.comparison.test === null ? [] : [i]));
  const adjusted = adjustPValues(
    testedIndexes.map((i) => compared[i]!.comparison.test!.pValue),
    options.correction,
  );
  const adjustedByIndex = new Map(testedIndexes.map((index, k) => [index, adjusted[k]!]));
  const descriptors: DriftDescriptorResult[] = compared.map(({ name, spec, comparison }, i) => {
    const test = comparison.test;
    const adjustedP = adjustedByIndex.get(i);
    const difference = comparison.difference;
    return {
      name,
      family: spec.family,
      kind: spec.kind,
      words: spec.words,
      ...(spec.unit === undefined ? {} : { unit: spec.unit }),
      status: test === null ? 'not enough data' : 'tested',
      minimum: options.minSamples[spec.kind],
      count: comparison.count,
      a: roundSide(comparison.a),
      b: roundSide(comparison.b),
      difference:
        difference === null
          ? null
          : {
              measure: difference.measure,
              estimate: round(difference.estimate),
              lower: roundOrNull(difference.lower),
              upper: roundOrNull(difference.upper),
            },
      test: test?.test ?? null,
      method: test?.method ?? null,
      statistic: roundOrNull(test?.statistic),
      p: roundOrNull(test?.pValue),
      adjustedP: roundOrNull(adjustedP),
      drifted: adjustedP !== undefined && adjustedP < options.alpha,
    };
  });
  const nA = recordsA.length;
  const nB = recordsB.length;
  const sample = paired ? `${nA} paired cases` : `${nA} vs ${nB} outputs`;
  const drifted = descriptors.some((d) => d.drifted);
  let similarity: DriftReport['similarity'] = null;
  let examples: DriftExample[] = [];
  if (paired && nA > 0) {
    const pairs = input.pairs!;
    const scores = pairs.map((p) => pairSimilarity(p.a.output, p.b.output));
    similarity = {
      measure: 'token-jaccard',
      mean: round(scores.reduce((s, x) => s + x, 0) / nA),
      median: round(median(scores)),
      identical: round(pairs.filter((p) => p.a.output === p.b.output).length / nA),
    };
    const categorical = descriptors.filter((d) => d.kind !== 'numeric').map((d) => d.name);
    const driftedNames = new Set(descriptors.filter((d) => d.drifted).map((d) => d.name));
    const ranked = pairs.map((pair, i) => {
      const differs = categorical.filter((name) => recordsA[i]![name] !== recordsB[i]![name]);
      return { pair, i, differs, hits: differs.filter((n) => driftedNames.has(n)).length, score: scores[i]! };
    });
    ranked.sort((x, y) => y.hits - x.hits || y.differs.length - x.differs.length || x.score - y.score || x.i - y.i);
    examples = ranked.slice(0, options.examples).map(({ pair, i, differs, score }) => ({
      id: pair.id ?? String(i + 1),
      vars: pair.vars ?? {},
      similarity: round(score),
      differs,
      a: clipText(pair.a.output),
      b: clipText(pair.b.output),
    }));
  }
  return {
    verdict: verdictInWords(descriptors, { versions: input.versions, sample }),
    drifted,
    format: DRIFT_REPORT_FORMAT,
    versions: { a: input.versions.a, b: input.versions.b },
    source: input.source,
    paired,
    n: { a: nA, b: nB, pairs: paired ? nA : null },
    alpha: options.alpha,
    correction: options.correction,
    descriptors,
    similarity,
    examples,
    ...(input.embeddings === undefined
      ? {}
      : { embedding: embeddingResult(input.embeddings, paired, options.alpha, round) }),
  };
};

/** The report as JSON: keys in the order built, numbers already rounded, two-space indent, a final newline. */
export const driftReportJson = (report: DriftReport): string => `${JSON.stringify(report, null, 2)}\n`;
