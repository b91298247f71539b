import { describe, expect, it } from 'vitest';
import { NunjucksError, nunjucksToMustache } from '../src/evals/promptfoo/nunjucks.js';
import { expectedCell } from '../src/evals/promptfoo/assertions.js';
import { renderTemplate } from '../src/template.js';

/** The Nunjucks promptfoo templates use, as mustache with the same output, or refused naming the construct. */
describe('nunjucksToMustache', () => {
  const convert = (text: string): string => nunjucksToMustache(text, 'prompt').template;

  it('keeps variables, conditions and loops, with the same rendering', () => {
    const template = convert(
      '{{ name }}{% if vip %} (VIP){% else %} (guest){% endif %}:{% for o in orders %} {{ o.id }}{% endfor %}{# hidden #}',
    );
    expect(template).toBe('{{name}}{{#vip}} (VIP){{/vip}}{{^vip}} (guest){{/vip}}:{{#orders}} {{id}}{{/orders}}');
    expect(renderTemplate(template, { name: 'Ada', vip: true, orders: [{ id: 1 }, { id: 2 }] })).toBe('Ada (VIP): 1 2');
    expect(renderTemplate(template, { name: 'Bo', vip: false, orders: [] })).toBe('Bo (guest):');
    expect(convert('{% if not done %}todo{% endif %}')).toBe('{{^done}}todo{{/done}}');
    expect(convert('{% for x in xs %}[{{ x }}]{% endfor %}')).toBe('{{#xs}}[{{.}}]{{/xs}}');
    expect(convert('{{ items[0].name }}')).toBe('{{items.0.name}}');
  });

  it('trims whitespace where {%- and -%} say so', () => {
    expect(convert('a  {%- if x -%}  b  {%- endif %}')).toBe('a{{#x}}b{{/x}}');
  });

  it('drops filters with a note, except safe', () => {
    const converted = nunjucksToMustache('{{ a | upper }} {{ b | safe }}', 'prompts[0]');
    expect(converted.template).toBe('{{a}} {{b}}');
    expect(converted.notes).toEqual([
      'prompts[0]: filter "upper" on {{ a }} has no mustache counterpart; the value is rendered as is',
    ]);
  });

  it('refuses what mustache cannot express, naming it', () => {
    for (const [text, message] of [
      ['{{ a + b }}', /\{\{ a \+ b \}\}: only a variable/],
      ['{% if a == 1 %}x{% endif %}', /only \{% if name %\}/],
      ['{% if a %}x{% elif b %}y{% endif %}', /\{% elif %\} has no mustache counterpart/],
      ['{% for x in xs %}{{ loop.index }}{% endfor %}', /loop variables/],
      ['{% set x = 1 %}', /\{% set %\}/],
      ['{% if a %}open', /never closed/],
    ] as const) {
      expect(() => nunjucksToMustache(text, 'prompts[2]'), text).toThrow(NunjucksError);
      expect(() => nunjucksToMustache(text, 'prompts[2]'), text).toThrow(message);
    }
  });
});

describe("CSV __expected cells, promptfoo's spelling", () => {
  it('reads types, not-, thresholds and the legacy prefixes; anything else is equals', () => {
    expect(expectedCell('contains: Paris')).toEqual({ type: 'contains', value: 'Paris' });
    expect(expectedCell('not-icontains:sorry')).toEqual({ type: 'not-icontains', value: 'sorry' });
    expect(expectedCell('similar(0.8): Hello')).toEqual({ type: 'similar', value: 'Hello', threshold: 0.8 });
    expect(expectedCell('grade: is polite')).toEqual({ type: 'llm-rubric', value: 'is polite' });
    expect(expectedCell('fn: output.length > 2')).toEqual({ type: 'javascript', value: 'output.length > 2' });
    expect(expectedCell('is-json')).toEqual({ type: 'is-json' });
    expect(expectedCell('Paris')).toEqual({ type: 'equals', value: 'Paris' });
    expect(expectedCell('is-json:')).toEqual({ type: 'is-json' });
    expect(expectedCell('Time: 10:00')).toEqual({ type: 'equals', value: 'Time: 10:00' });
  });
});
