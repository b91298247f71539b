import { greeter, outcome, renderPrompt, type PromptContent, type VariableSpec } from './common.js';

type Specs = Record<string, VariableSpec>;
const req = (type: VariableSpec['type']): VariableSpec => ({ type, required: true });
const opt = (type: VariableSpec['type'], def?: unknown): VariableSpec =>
  def === undefined ? { type, required: false } : ({ type, required: false, default: def } as VariableSpec);

const text = (template: string, variables: Specs = {}, slots: Record<string, string> = {}): PromptContent => ({
  name: 'render/case',
  type: 'text',
  config: { params: {} },
  variables,
  slots,
  template,
});

const chat = (
  messages: PromptContent & { type: 'chat' } extends { messages: infer M } ? M : never,
  variables: Specs = {},
  slots: Record<string, string> = {},
): PromptContent => ({
  name: 'render/chat',
  type: 'chat',
  config: { model: 'gpt-4o-mini', params: {} },
  variables,
  slots,
  messages,
});

type Case = readonly [name: string, content: PromptContent, variables: Record<string, unknown>];

const CASES: readonly Case[] = [
  [
    'plain variables',
    text('Hello {{name}}, you are {{age}}.', { name: req('string'), age: req('number') }),
    { name: 'Ada', age: 36 },
  ],
  [
    'no HTML escaping: double, triple and ampersand tags',
    text('{{v}} | {{{v}}} | {{& v}}', { v: req('string') }),
    { v: `<b>"Tom" & 'Jerry'</b> \`x\` =/` },
  ],
  ['whitespace inside tags', text('[{{ v }}] [{{{ v }}}] [{{&v}}]', { v: req('string') }), { v: 'x' }],
  [
    'defaults apply when a variable is not given',
    text('{{a}}-{{b}}-{{c}}', { a: opt('string', 'A'), b: opt('number', 0), c: opt('boolean', false) }),
    {},
  ],
  ['a given value beats the default', text('{{a}}', { a: opt('string', 'A') }), { a: 'given' }],
  ['an optional variable without default renders empty', text('[{{a}}]', { a: opt('string') }), {}],
  ['null renders empty', text('[{{a}}]', { a: opt('any') }), { a: null }],
  [
    'booleans render as true and false',
    text('{{t}} {{f}}', { t: req('boolean'), f: req('boolean') }),
    { t: true, f: false },
  ],
  [
    'numbers render as JavaScript String(n)',
    text(
      '{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}} {{i}}',
      Object.fromEntries('abcdefghi'.split('').map((k) => [k, req('number')])),
    ),
    { a: 0.1 + 0.2, b: 1e21, c: 1e-7, d: 0.000001, e: 100, f: -2.5, g: 5e-324, h: 123456789012345680000, i: 1.5e300 },
  ],
  ['an integer variable accepts an integral double', text('{{n}}', { n: req('integer') }), { n: 1e21 }],
  [
    'objects and arrays render as compact JSON in insertion order (integer-like keys first)',
    text('{{o}} {{a}}', { o: req('object'), a: req('array') }),
    { o: { b: 1, '2': 'two', a: [true, null, 'x"y'], '1': { z: 'ü' } }, a: [1, 'two', [3], {}] },
  ],
  ['unicode passes through', text('{{v}}', { v: req('string') }), { v: 'é e\u0301 😀 中文 \u2028 \u0000' }],
  [
    'sections over arrays, {{.}} and a fallback to the outer context',
    text('{{#items}}<{{.}}:{{sep}}>{{/items}}', { items: req('array'), sep: req('string') }),
    { items: ['a', 'b', 'c'], sep: '|' },
  ],
  [
    'sections over arrays of objects, with dotted names inside',
    text('{{#users}}{{name}} ({{address.city}}){{^last}}, {{/last}}{{/users}}', { users: req('array') }),
    {
      users: [
        { name: 'Ada', address: { city: 'London' } },
        { name: 'Linus', address: { city: 'Helsinki' }, last: true },
      ],
    },
  ],
  ['nested arrays', text('{{#rows}}[{{#.}}{{.}}{{/.}}]{{/rows}}', { rows: req('array') }), { rows: [[1, 2], [], [3]] }],
  [
    'a section over an object makes it the context',
    text('{{#user}}{{name}} is {{age}}; outer {{greeting}}{{/user}}', { user: req('object'), greeting: req('string') }),
    { user: { name: 'Ada', age: 36 }, greeting: 'hi' },
  ],
  [
    'truthiness: 0, "0" and {} are truthy; false, null, "" and [] are falsy',
    text(
      '{{#a}}a{{/a}}{{#b}}b{{/b}}{{#c}}c{{/c}}{{#d}}d{{/d}}{{#e}}e{{/e}}{{#f}}f{{/f}}{{#g}}g{{/g}}|{{^d}}!d{{/d}}{{^e}}!e{{/e}}{{^f}}!f{{/f}}{{^g}}!g{{/g}}{{^h}}!h{{/h}}{{^a}}!a{{/a}}',
      Object.fromEntries('abcdefgh'.split('').map((k) => [k, opt('any')])),
    ),
    { a: 0, b: '0', c: {}, d: false, e: null, f: '', g: [] },
  ],
  [
    'a section over a scalar makes it the context',
    text('{{#n}}n={{.}}{{/n}} {{#s}}s={{.}}{{/s}}', { n: req('number'), s: req('string') }),
    { n: 0, s: 'str' },
  ],
  [
    'inverted sections render for missing values',
    text('{{^a}}none{{/a}}{{^b}}none{{/b}}', { a: opt('array'), b: opt('string') }),
    { a: [] },
  ],
  [
    'dotted names: found, missing leaf, missing root',
    text('[{{a.b.c}}] [{{a.b.x}}] [{{a.x.c}}] [{{z.y}}]', { a: req('object'), z: opt('object') }),
    { a: { b: { c: 'deep' } } },
  ],
  [
    'a dotted name found in an inner context does not fall back when its tail is missing',
    text('{{#inner}}[{{a.b}}]{{/inner}}', { inner: req('object'), a: req('object') }),
    { inner: { a: { other: 1 } }, a: { b: 'outer' } },
  ],
  [
    'a dotted section name',
    text('{{#a.list}}{{.}};{{/a.list}}{{^a.none}}empty{{/a.none}}', { a: req('object') }),
    { a: { list: ['x', 'y'], none: [] } },
  ],
  [
    'standalone section, inverted and comment lines are removed',
    text('begin\n{{#items}}\n- {{.}}\n{{/items}}\n{{^items}}\nnone\n{{/items}}\n  {{! a comment }}\nend', {
      items: req('array'),
    }),
    { items: ['a', 'b'] },
  ],
  ['a comment renders nothing and ends at the first }}', text('a{{! a comment with {{braces}} }}b', {}), {}],
  ['a delimiter change', text('{{=<% %>=}}<% v %> {{v}} <%={{ }}=%>{{v}}', { v: req('string') }), { v: 'x' }],
  [
    'slots: inline and standalone partials, standalone ones indented',
    text(
      'Intro {{> inline}} done\n  {{> block}}\nend',
      { who: req('string') },
      { inline: 'to {{who}}', block: 'line 1 {{who}}\nline 2\n' },
    ),
    { who: 'Ada' },
  ],
  [
    'slots include slots and see the variables',
    text('{{> outer}}', { v: req('string') }, { outer: '<{{> inner}}>', inner: 'v={{v}}' }),
    { v: 'x' },
  ],
  [
    'a slot inside a section sees the section context',
    text('{{#items}}{{> item}}{{/items}}', { items: req('array') }, { item: '[{{name}}]' }),
    { items: [{ name: 'a' }, { name: 'b' }] },
  ],
  [
    'a recursive slot ended by the data',
    text(
      '{{> node}}',
      { tree: req('object') },
      { node: '{{#tree}}{{name}}({{#children}}{{> node}}{{/children}}){{/tree}}' },
    ),
    {
      tree: { name: 'root', children: [{ tree: { name: 'a', children: [] } }, { tree: { name: 'b', children: [] } }] },
    },
  ],
  ['CRLF line endings are kept', text('a\r\n{{#x}}\r\nb\r\n{{/x}}\r\nc', { x: req('boolean') }), { x: true }],
  [
    'a chat prompt renders every message',
    chat(
      [
        { role: 'system', content: '{{> rules}}' },
        { role: 'user', content: '{{user_name}} asks: {{question}}' },
        { role: 'assistant', content: 'noted' },
      ],
      { user_name: req('string'), question: req('string') },
      { rules: 'Be nice to {{user_name}}.' },
    ),
    { user_name: 'Ada', question: 'Where is my order?' },
  ],
  ['the greeter v17', greeter(17), { user_name: 'Ada', question: 'Where is my order #123?' }],
];

const ERRORS: readonly Case[] = [
  ['a required variable is missing', text('{{a}}', { a: req('string') }), {}],
  ['a required variable given null is of the wrong type', text('{{a}}', { a: req('string') }), { a: null }],
  ['an undeclared variable is passed', text('{{a}}', { a: req('string') }), { a: 'x', b: 'y' }],
  ['a string where a number is declared', text('{{a}}', { a: req('number') }), { a: '1' }],
  ['a boolean where a number is declared', text('{{a}}', { a: req('number') }), { a: true }],
  ['a boolean where an integer is declared', text('{{a}}', { a: req('integer') }), { a: false }],
  ['a fraction where an integer is declared', text('{{a}}', { a: req('integer') }), { a: 1.5 }],
  ['an array where an object is declared', text('{{a}}', { a: req('object') }), { a: [] }],
  ['null where an object is declared', text('{{a}}', { a: req('object') }), { a: null }],
  ['an object where an array is declared', text('{{a}}', { a: req('array') }), { a: {} }],
  ['a number where a string is declared', text('{{a}}', { a: req('string') }), { a: 1 }],
  ['a partial names no slot', text('{{> missing}}'), {}],
  ['slots include each other without end', text('{{> a}}', {}, { a: '{{> b}}', b: '{{> a}}' }), {}],
  ['an unclosed section', text('{{#a}}x', { a: opt('any') }), {}],
  ['a section closed by another name', text('{{#a}}x{{/b}}', { a: opt('any') }), {}],
  ['sections nested more than 64 deep', text(`${'{{#a}}'.repeat(65)}x${'{{/a}}'.repeat(65)}`, { a: opt('any') }), {}],
];

const vector = ([name, content, variables]: Case, expectError: boolean) => {
  const result = outcome(() => renderPrompt(content, variables));
  if ((result.error !== undefined) !== expectError) {
    throw new Error(
      `render vector '${name}': expected ${expectError ? 'an error' : 'a render'}, got ${JSON.stringify(result)}`,
    );
  }
  return result.error === undefined
    ? { name, content, variables, expected: result.value }
    : { name, content, variables, error: result.error };
};

export const RENDER_FILE = () => ({
  description:
    'Template renders: renderPrompt(content, variables) of packages/core/src/prompt.ts (logic-less mustache, no HTML escaping, slots as partials, declared variables with defaults and types). `expected` is { type: "text", text } or { type: "chat", messages: [{ role, content }] }. Error vectors give the PromptopsError code instead: invalid_variables (missing, undeclared, wrong type), missing_slot, slot_recursion, invalid_template. Contents are rendered as given, not validated first: an SDK renders what the registry served. Numbers print as JavaScript String(n) (shortest round-trip, exponent from 1e21 and below 1e-6); objects and arrays print as JSON.stringify does (compact, integer-like keys first in ascending order, then the other keys in insertion order).',
  cases: CASES.map((c) => vector(c, false)),
  errors: ERRORS.map((c) => vector(c, true)),
});
