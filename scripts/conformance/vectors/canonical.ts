import { canonicalJson, contentSha, edit, greeter, outcome, promptSha, validatePromptContent } from './common.js';

/** [name, input as JSON text]: parsed with the implementation's JSON parser, then canonicalized. */
const VALUES: readonly (readonly [string, string])[] = [
  [
    'rfc 8785 section 3.2.3 example',
    String.raw`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`,
  ],
  ['literals', '[null,true,false]'],
  ['empty containers', '{"a":{},"b":[],"c":""}'],
  ['whitespace is dropped', ' { "b" : [ 1 , 2 ] ,\n\t"a" : { } } '],
  ['duplicate keys: the last wins', '{"a":1,"b":2,"a":3}'],
  ['astral characters stay literal', '"\\ud83d\\ude00 \u{1F680} \u{10FFFF}"'],
  ['combining marks are not normalized', '["e\\u0301", "\\u00e9", "\u0065\u0301"]'],
  [
    'control characters: short escapes and lowercase \\u00xx',
    '"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u000e\\u001f\\u0020"',
  ],
  ['delete, slash, U+2028 and U+2029 are not escaped', '"\\u007f \\/ \\u2028 \\u2029"'],
  ['quote and backslash are escaped', '"say \\"hi\\" \\\\ there"'],
  ['non-ASCII BMP characters stay literal', '"\\u20ac \\u00fc \\u4e2d \\uffff"'],
  ['number: 1e21 is the first exponent form', '[1e20, 1e21, 123456789012345678901234]'],
  ['number: 1e-6 is plain, 1e-7 an exponent', '[0.000001, 1e-6, 0.0000001, 1e-7]'],
  ['number: negative zero is 0', '[-0, -0.0, 0.0, 0e10]'],
  ['number: 0.1 + 0.2', '[0.30000000000000004, 0.1, 0.2, 0.3]'],
  ['number: integral floats drop the fraction', '[1.0, -2.50, 100.000, 1E2]'],
  [
    'number: large integers are doubles',
    '[9007199254740991, 9007199254740992, 9007199254740993, 18446744073709551616]',
  ],
  ['number: extremes', '[5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e+308]'],
  [
    'number: shortest round-trip digits',
    '[0.1e1, 123.456e-300, 4.35, 1.005, 9.999999999999997e22, 1e23, 295147905179352830000]',
  ],
  ['key order: by UTF-16 code units', '{"\\ufffd":1,"\\ud83d\\ude00":2,"\\u00e9":3,"z":4,"a":5}'],
  ['key order: astral sorts below U+E000 (surrogates)', '{"\\ue000":1,"\\ud800\\udc00":2,"\\ud7ff":3}'],
  ['key order: digits, upper case, underscore, lower case', '{"b":0,"_":1,"a":2,"B":3,"10":4,"9":5,"1":6,"":7}'],
  ['key order: prefixes first', '{"ab":1,"a":2,"abc":3,"aa":4}'],
  ['key order: nested objects are sorted too', '{"z":{"y":1,"x":[{"b":1,"a":2}]},"a":null}'],
  ['nested arrays keep their order', '[[[]],[{}],[1,[2,[3,[4]]]],["b","a"]]'],
  ['top-level scalars', '"text"'],
  ['top-level number', '-12.5e-1'],
];

/** Inputs with no canonical form: refused with PromptopsError `invalid_json`. */
const INVALID_VALUES: readonly (readonly [string, string])[] = [
  ['a lone high surrogate', '"\\ud800"'],
  ['a lone low surrogate in a key', '{"\\udc00":1}'],
  ['a reversed surrogate pair', '["\\ude00\\ud83d"]'],
  ['a number too large for a double', '[1e400]'],
];

const reorder = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reorder);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reorder(v)]),
  );
};

/** [name, pushed content as JSON text]: validated like a push, then hashed. */
const CONTENTS: readonly (readonly [string, string])[] = [
  ['the greeter v17', JSON.stringify(greeter(17))],
  ['the greeter v17, keys in another order and spaced', JSON.stringify(reorder(greeter(17)), null, 1)],
  ['the greeter v18', JSON.stringify(greeter(18))],
  [
    'a text prompt with slots, defaults, schema and unicode',
    edit(
      JSON.stringify({
        type: 'text',
        name: 'i18n/welcome',
        template: '{{> header}}\nHallo {{name}} 👋, é = e\u0301 {{#items}}- {{.}}\n{{/items}}',
        config: {
          provider: 'openai',
          model: 'gpt-4o',
          params: { temperature: 0.7, max_tokens: 1e3, top_p: 1.0, stop: ['\n\n'] },
        },
        variables: {
          name: { type: 'string', required: false, default: 'Gäst', description: 'who is greeted' },
          items: { type: 'array', required: false, default: [], schema: { items: { type: 'string' } } },
        },
        slots: { header: '# {{name}}' },
      }),
      '"max_tokens":1000,"top_p":1',
      '"max_tokens":1E3,"top_p":1.0',
    ),
  ],
  [
    'a chat prompt with every role and number params',
    JSON.stringify({
      name: 'a.b-c_d/e0',
      type: 'chat',
      config: { params: { temperature: 0.1, seed: 9007199254740991, penalty: -0.5e-3 } },
      variables: { n: { type: 'integer', required: true }, x: { type: 'any', required: false, default: null } },
      slots: {},
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'developer', content: 'dev {{n}}' },
        { role: 'user', content: 'user {{x}}' },
        { role: 'assistant', content: 'ok' },
      ],
    }),
  ],
];

const base = { name: 'p', type: 'text', config: { params: {} }, variables: {}, slots: {}, template: 'hi' };
const withBase = (extra: Record<string, unknown>): string => JSON.stringify({ ...base, ...extra });

/** Contents a push refuses (PromptopsError `invalid_prompt`): never hashed. */
const INVALID_CONTENTS: readonly (readonly [string, string])[] = [
  ['an unknown field', withBase({ extra: 1 })],
  [
    'a missing field',
    JSON.stringify({ name: 'p', type: 'text', config: { params: {} }, variables: {}, template: 'hi' }),
  ],
  ['an upper-case name', withBase({ name: 'Greeter' })],
  ['an unknown type', withBase({ type: 'completion' })],
  ['a chat prompt without messages', JSON.stringify({ ...base, type: 'chat', template: undefined, messages: [] })],
  [
    'an unknown role',
    JSON.stringify({ ...base, type: 'chat', template: undefined, messages: [{ role: 'tool', content: 'x' }] }),
  ],
  ['an undeclared variable', withBase({ template: 'hi {{who}}' })],
  ['an undeclared variable in a section', withBase({ template: '{{#items}}{{.}}{{/items}}' })],
  ['an undeclared slot', withBase({ template: '{{> footer}}' })],
  ['a slot that always includes itself', withBase({ template: '{{> a}}', slots: { a: 'x {{> b}}', b: '{{> a}}' } })],
  ['a default of the wrong type', withBase({ variables: { n: { type: 'number', required: false, default: '1' } } })],
  ['an unclosed section', withBase({ template: '{{#a}} open', variables: { a: { type: 'any', required: false } } })],
  ['a variable name starting with a digit', withBase({ variables: { '1a': { type: 'string', required: true } } })],
  ['provider as a model parameter', withBase({ config: { params: { provider: 'x' } } })],
  ['a lone surrogate in the template', withBase({ template: 'x\ud800' })],
  ['a __proto__ key', edit(withBase({}), '"slots":{}', '"slots":{"__proto__":"x"}')],
];

const valueVector = ([name, input]: readonly [string, string]) => {
  const result = outcome(() => canonicalJson(JSON.parse(input)));
  if (result.error !== undefined) throw new Error(`canonical vector '${name}' failed: ${result.error.code}`);
  return { name, input, canonical: result.value, sha: contentSha(JSON.parse(input)) };
};

const invalidValueVector = ([name, input]: readonly [string, string]) => {
  const result = outcome(() => canonicalJson(JSON.parse(input)));
  if (result.error === undefined) throw new Error(`canonical vector '${name}' should fail`);
  return { name, input, error: result.error };
};

const contentVector = ([name, input]: readonly [string, string]) => {
  const result = outcome(() => validatePromptContent(JSON.parse(input)));
  if (result.error !== undefined) throw new Error(`content vector '${name}' failed: ${result.error.code}`);
  return { name, input, canonical: canonicalJson(result.value), sha: promptSha(result.value) };
};

const invalidContentVector = ([name, input]: readonly [string, string]) => {
  const result = outcome(() => validatePromptContent(JSON.parse(input)));
  if (result.error === undefined) throw new Error(`content vector '${name}' should fail`);
  return { name, input, error: result.error };
};

export const CANONICAL_FILE = () => ({
  description:
    'RFC 8785 canonical JSON and sha256 (lowercase hex of the UTF-8 bytes of the canonical text). `input` is JSON text: parse it with a standard JSON parser (numbers as IEEE 754 doubles, the last of duplicate keys wins). `values`: canonicalJson(parse(input)) and contentSha. `invalidValues`: refused with error code invalid_json. `contents`: prompt contents as pushed, through validatePromptContent (packages/core/src/prompt.ts: schema and semantic checks, the gate the registry applies before hashing), then canonicalJson and promptSha, the version sha. `invalidContents`: refused by validatePromptContent with error code invalid_prompt.',
  values: VALUES.map(valueVector),
  invalidValues: INVALID_VALUES.map(invalidValueVector),
  contents: CONTENTS.map(contentVector),
  invalidContents: INVALID_CONTENTS.map(invalidContentVector),
});
