import type { DriftDescriptorResult, DriftReport } from './report-types.js';
import { pInWords } from './verdict.js';

/** The report for a terminal: the verdict first, a table per descriptor, then the example pairs. */

const side = (d: DriftDescriptorResult, v: DriftDescriptorResult['a']): string => {
  if (v === null) return '-';
  if (typeof v === 'number') return d.kind === 'binary' ? `${Math.round(v * 100)} %` : String(v);
  return Object.entries(v)
    .filter(([, share]) => share > 0)
    .map(([c, share]) => `${c} ${Math.round(share * 100)} %`)
    .join(', ');
};

const difference = (d: DriftDescriptorResult): string => {
  const diff = d.difference;
  if (diff === null) return '-';
  const scale = d.kind === 'binary' ? 100 : 1;
  const show = (x: number): string => String(Number((x * scale).toPrecision(3)));
  const unit = d.kind === 'binary' ? ' pts' : '';
  const bounds = diff.lower === null || diff.upper === null ? '' : ` [${show(diff.lower)}, ${show(diff.upper)}]`;
  return d.kind === 'categorical' ? `JS ${diff.estimate}` : `${show(diff.estimate)}${unit}${bounds}`;
};

/** The embedding section in one line: the pairs' cosine, or the distance of the means against its null. */
const embeddingLine = (report: DriftReport): string | null => {
  const e = report.embedding;
  if (e === undefined) return null;
  const head = `Embedding similarity (${e.model})`;
  if (e.paired !== null)
    return `${head}: mean cosine ${e.paired.mean}, median ${e.paired.median}, lowest ${e.paired.lowest} between paired outputs`;
  if (e.unpaired !== null) {
    const u = e.unpaired;
    return `${head}: the mean embeddings are ${u.distance} apart (random splits: ${u.threshold} at most in ${Math.round((1 - report.alpha) * 100)} %, ${pInWords(u.p)}): ${u.drifted ? 'moved' : 'no evidence of a move'}`;
  }
  return `${head}: ${e.status === 'skipped' ? 'skipped, ' : ''}${e.note ?? 'nothing to compare'}`;
};

export const driftReportText = (report: DriftReport): string => {
  const rows = [
    ['descriptor', report.versions.a, report.versions.b, 'difference [CI]', 'test', 'adjusted p', 'drifted'],
    ...report.descriptors.map((d) => [
      d.name,
      side(d, d.a),
      side(d, d.b),
      difference(d),
      d.test ?? '-',
      d.adjustedP === null ? '-' : pInWords(d.adjustedP).replace(/^p (= )?/, ''),
      d.status === 'tested' ? (d.drifted ? 'yes' : 'no') : 'not enough data',
    ]),
  ];
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const table = rows.map((r) =>
    r
      .map((cell, j) => cell.padEnd(widths[j]!))
      .join('  ')
      .trimEnd(),
  );
  const lines = [report.verdict, '', ...table];
  const embedding = embeddingLine(report);
  if (embedding !== null) lines.push('', embedding);
  if (report.examples.length > 0) {
    lines.push('', 'Pairs that differ most:');
    for (const e of report.examples) {
      lines.push(`- ${e.id} (similarity ${e.similarity}; differs in ${e.differs.join(', ') || 'wording only'})`);
      lines.push(
        `  ${report.versions.a}: ${e.a.replace(/\s+/g, ' ')}`,
        `  ${report.versions.b}: ${e.b.replace(/\s+/g, ' ')}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
};
