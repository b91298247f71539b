/**
 * A strict reader of the Prometheus text format (0.0.4), from its specification: HELP and TYPE before a
 * family's samples, names and label names by the spec's grammar, escaped label values, float values
 * (`+Inf`, `-Inf`, `NaN`), each family's lines together. Throws naming the line on anything else.
 */

export interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface ParsedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: ['', '_total'],
};

const parseValue = (text: string, line: number): number => {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value '${text}'`);
  return Number(text);
};

const parseLabels = (text: string, line: number): [Record<string, string>, string] => {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  while (!rest.startsWith('}')) {
    const name = LABEL_NAME.exec(rest)?.[0];
    if (name === undefined || rest[name.length] !== '=' || rest[name.length + 1] !== '"') {
      throw new Error(`line ${line}: bad label at '${rest}'`);
    }
    rest = rest.slice(name.length + 2);
    let value = '';
    for (;;) {
      const char = rest[0];
      if (char === undefined) throw new Error(`line ${line}: unterminated label value`);
      rest = rest.slice(1);
      if (char === '"') break;
      if (char === '\\') {
        const escaped = rest[0];
        rest = rest.slice(1);
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`line ${line}: bad escape \\${String(escaped)}`);
      } else value += char;
    }
    if (name in labels) throw new Error(`line ${line}: label '${name}' twice`);
    labels[name] = value;
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (!rest.startsWith('}')) throw new Error(`line ${line}: expected , or } at '${rest}'`);
  }
  return [labels, rest.slice(1)];
};

export const parsePrometheusText = (text: string): ParsedFamily[] => {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families: ParsedFamily[] = [];
  const byName = new Map<string, ParsedFamily>();
  let current: ParsedFamily | undefined;
  const family = (name: string): ParsedFamily => {
    let found = byName.get(name);
    if (found === undefined) {
      found = { name, help: '', type: 'untyped', samples: [] };
      byName.set(name, found);
      families.push(found);
    } else if (found !== current) throw new Error(`family '${name}' is not contiguous`);
    current = found;
    return found;
  };
  text
    .slice(0, -1)
    .split('\n')
    .forEach((raw, index) => {
      const line = index + 1;
      if (raw.trim() === '') return;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (meta !== null) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        if (NAME.exec(name)?.[0] !== name) throw new Error(`line ${line}: bad metric name '${name}'`);
        const target = family(name);
        if (kind === 'TYPE') {
          if (!TYPES.has(rest)) throw new Error(`line ${line}: bad type '${rest}'`);
          if (target.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of '${name}'`);
          (target as { type: string }).type = rest;
        } else (target as { help: string }).help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
        return;
      }
      if (raw.startsWith('#')) return;
      const name = NAME.exec(raw)?.[0];
      if (name === undefined) throw new Error(`line ${line}: no metric name in '${raw}'`);
      let rest = raw.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, line);
      const parts = rest.trim().split(/\s+/);
      if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2)
        throw new Error(`line ${line}: bad sample '${raw}'`);
      const value = parseValue(parts[0]!, line);
      const owner =
        current !== undefined &&
        name.startsWith(current.name) &&
        (SUFFIXES[current.type] ?? ['']).includes(name.slice(current.name.length))
          ? current
          : family(name);
      owner.samples.push({ name, labels, value });
    });
  for (const parsed of families) {
    if (parsed.type !== 'histogram') continue;
    // Each histogram series: buckets ascending and cumulative, ending in +Inf equal to its _count.
    const series = new Map<string, ParsedSample[]>();
    for (const sample of parsed.samples.filter((s) => s.name.endsWith('_bucket'))) {
      const { le, ...rest } = sample.labels;
      if (le === undefined) throw new Error(`${parsed.name}: a bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), sample]);
    }
    for (const [key, buckets] of series) {
      const bounds = buckets.map((b) => parseValue(b.labels['le']!, 0));
      if (bounds.at(-1) !== Infinity) throw new Error(`${parsed.name}${key}: no +Inf bucket`);
      for (let i = 1; i < buckets.length; i += 1) {
        if (!(bounds[i]! > bounds[i - 1]!) || buckets[i]!.value < buckets[i - 1]!.value) {
          throw new Error(`${parsed.name}${key}: buckets not ascending and cumulative`);
        }
      }
      const count = parsed.samples.find((s) => s.name === `${parsed.name}_count` && JSON.stringify(s.labels) === key);
      if (count?.value !== buckets.at(-1)!.value) throw new Error(`${parsed.name}${key}: +Inf bucket is not _count`);
    }
  }
  return families;
};
