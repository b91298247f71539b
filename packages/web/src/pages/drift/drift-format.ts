import type { DriftDescriptorResult, DriftReport, DriftReportListItem } from '../../api/types';

/**
 * A drift report's cells in words (the same reading as `promptops drift`'s table): rates as
 * percentages, medians with their unit, differences signed with their interval, tests by their names.
 */

const DASH = '–';
const MINUS = '\u2212';

/** Three significant digits, without trailing zeros. */
const figure = (value: number): string => String(Number(value.toPrecision(3)));

const signed = (value: number): string => {
  const text = figure(value);
  if (text === '0') return '0';
  return value < 0 ? `${MINUS}${text.slice(1)}` : `+${text}`;
};

export const sideText = (d: DriftDescriptorResult, value: DriftDescriptorResult['a']): string => {
  if (value === null) return DASH;
  if (typeof value === 'number') {
    if (d.kind === 'binary') return `${Math.round(value * 100)} %`;
    const amount = String(Number(value.toPrecision(4)));
    return d.unit === undefined ? amount : `${amount} ${d.unit}`;
  }
  return Object.entries(value)
    .filter(([, share]) => share > 0)
    .map(([name, share]) => `${name} ${Math.round(share * 100)} %`)
    .join(', ');
};

/** B − A: percentage points for rates, the unit for medians, the Jensen-Shannon distance for classes. */
export const differenceText = (d: DriftDescriptorResult): string => {
  const diff = d.difference;
  if (diff === null) return DASH;
  if (diff.measure === 'Jensen-Shannon distance') return `JS distance ${figure(diff.estimate)}`;
  const scale = d.kind === 'binary' ? 100 : 1;
  const unit = d.kind === 'binary' ? ' pts' : d.unit === undefined ? '' : ` ${d.unit}`;
  const bounds =
    diff.lower === null || diff.upper === null ? '' : ` [${signed(diff.lower * scale)}, ${signed(diff.upper * scale)}]`;
  return `${signed(diff.estimate * scale)}${unit}${bounds}`;
};

const TEST_NAMES: Readonly<Record<string, string>> = {
  mcnemar: 'McNemar',
  wilcoxon: 'Wilcoxon signed-rank',
  'mann-whitney': 'Mann-Whitney U',
  ks: 'Kolmogorov-Smirnov',
  'two-proportion-z': 'two-proportion z',
  'chi-square': 'chi-square',
};

export const testText = (d: DriftDescriptorResult): string => {
  if (d.test === null) return DASH;
  const name = TEST_NAMES[d.test] ?? d.test;
  return d.method === null ? name : `${name} (${d.method})`;
};

/** After the correction across descriptors; as the verdict line says it. */
export const adjustedPText = (d: DriftDescriptorResult): string =>
  d.adjustedP === null ? DASH : d.adjustedP < 0.001 ? '< 0.001' : d.adjustedP.toFixed(3);

export const driftedText = (d: DriftDescriptorResult): 'yes' | 'no' | 'not enough data' =>
  d.status === 'not enough data' ? 'not enough data' : d.drifted ? 'yes' : 'no';

export const sampleText = (report: Pick<DriftReport, 'paired' | 'n'>): string => {
  if (report.paired && report.n.pairs !== null) {
    return `${report.n.pairs.toLocaleString('en')} paired ${report.n.pairs === 1 ? 'case' : 'cases'}`;
  }
  return `${report.n.a.toLocaleString('en')} vs ${report.n.b.toLocaleString('en')} outputs`;
};

const utc = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

/** Where the outputs came from: the suite of an offline report, the time range of a live one. */
export const sourceText = (item: Pick<DriftReportListItem, 'source' | 'suite' | 'window'>): string => {
  if (item.suite !== null) return `${item.source} · ${item.suite}`;
  if (item.window !== null) return `${item.source} · ${utc(item.window.since)} → ${utc(item.window.until)} UTC`;
  return item.source;
};

/** The embedding section in one line (present only when the server has an embeddings provider). */
export const embeddingText = (report: Pick<DriftReport, 'embedding'>): string | null => {
  const e = report.embedding;
  if (e === undefined) return null;
  const head = `embedding similarity (${e.model})`;
  if (e.paired !== null)
    return `${head}: mean cosine ${figure(e.paired.mean)} between paired outputs (lowest ${figure(e.paired.lowest)})`;
  if (e.unpaired !== null) {
    const u = e.unpaired;
    const p = u.p < 0.001 ? 'p < 0.001' : `p = ${u.p.toFixed(3)}`;
    return `${head}: mean embeddings ${figure(u.distance)} apart, random splits ${figure(u.threshold)} (${p}): ${u.drifted ? 'moved' : 'no evidence of a move'}`;
  }
  return `${head}: ${e.status === 'skipped' ? 'skipped, ' : ''}${e.note ?? 'nothing to compare'}`;
};
