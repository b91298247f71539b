/**
 * The Prometheus text exposition format (version 0.0.4), encoded by hand: the server's `/metrics` needs
 * counters, gauges and histograms only, and this keeps the CLI bundle free of a metrics client.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export type MetricLabels = Readonly<Record<string, string>>;

export interface MetricSample {
  /** Appended to the family's name: `_total`, `_bucket`, `_sum`, `_count`, or '' (the default). */
  readonly suffix?: string;
  readonly labels?: MetricLabels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly MetricSample[];
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** A sample value as the format spells it: `+Inf`, `-Inf`, `NaN`, or the number. */
const prometheusValue = (value: number): string => {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
};

const labelText = (labels: MetricLabels | undefined): string => {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [key] of entries) {
    if (!LABEL.test(key) || key.startsWith('__')) throw new Error(`invalid metric label name '${key}'`);
  }
  return `{${entries.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',')}}`;
};

/** Encodes families in order, each with its HELP and TYPE lines; names are checked, label values escaped. */
export const encodePrometheusText = (families: readonly MetricFamily[]): string => {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`invalid metric name '${family.name}'`);
    if (seen.has(family.name)) throw new Error(`metric '${family.name}' is listed twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${sample.suffix ?? ''}${labelText(sample.labels)} ${prometheusValue(sample.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
};

/** Cumulative histogram buckets (upper bounds ascending, `+Inf` implied) with their sum and count. */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count += 1;
    const index = this.#bounds.findIndex((bound) => value <= bound);
    if (index >= 0) this.#counts[index]! += 1;
  }

  /** The `_bucket`, `_sum` and `_count` samples, each with `labels`. */
  samples(labels: MetricLabels): MetricSample[] {
    let cumulative = 0;
    const buckets = this.#bounds.map((bound, i) => {
      cumulative += this.#counts[i]!;
      return { suffix: '_bucket', labels: { ...labels, le: prometheusValue(bound) }, value: cumulative };
    });
    return [
      ...buckets,
      { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.#count },
      { suffix: '_sum', labels, value: this.#sum },
      { suffix: '_count', labels, value: this.#count },
    ];
  }
}
