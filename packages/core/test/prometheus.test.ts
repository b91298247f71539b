import { describe, expect, it } from 'vitest';
import { encodePrometheusText, Histogram } from '../src/prometheus.js';

describe('encodePrometheusText', () => {
  it('writes HELP and TYPE, escapes label values and spells infinities', () => {
    const text = encodePrometheusText([
      {
        name: 'x_total',
        help: 'a\\b\nc',
        type: 'counter',
        samples: [{ labels: { route: 'a"b\\c\nd' }, value: 2 }, { value: Infinity }],
      },
    ]);
    expect(text).toBe(
      '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{route="a\\"b\\\\c\\nd"} 2\nx_total +Inf\n',
    );
  });

  it('refuses a bad metric or label name and a family listed twice', () => {
    expect(() => encodePrometheusText([{ name: '1x', help: '', type: 'gauge', samples: [] }])).toThrow(/metric name/);
    expect(() =>
      encodePrometheusText([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '' }, value: 1 }] }]),
    ).toThrow(/label name/);
    const twice = { name: 'x', help: '', type: 'gauge' as const, samples: [] };
    expect(() => encodePrometheusText([twice, twice])).toThrow(/twice/);
  });

  it('keeps histogram buckets cumulative with +Inf equal to the count', () => {
    const histogram = new Histogram([1, 5]);
    for (const value of [0.5, 2, 7, 1]) histogram.observe(value);
    expect(histogram.samples({ route: '/r' }).map((s) => [s.suffix, s.labels?.['le'], s.value])).toEqual([
      ['_bucket', '1', 2],
      ['_bucket', '5', 3],
      ['_bucket', '+Inf', 4],
      ['_sum', undefined, 10.5],
      ['_count', undefined, 4],
    ]);
  });
});
