/**
 * fast-check generators for core's property tests: valid prompt contents (text and chat) with declared
 * variables, slots and templates that use them, and values to render them with.
 */
import fc from 'fast-check';
import {
  MESSAGE_ROLES,
  VARIABLE_TYPES,
  type ChatMessage,
  type JsonValue,
  type PromptContent,
  type VariableSpec,
} from '../src/index.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');

/** One folder or file name of a prompt: `[a-z0-9][a-z0-9_.-]*`. */
const nameSegment = fc
  .tuple(fc.constantFrom(...LOWER), fc.string({ unit: fc.constantFrom(...LOWER, '_', '.', '-'), maxLength: 12 }))
  .map(([first, rest]) => first + rest);

export const promptNameArb: fc.Arbitrary<string> = fc
  .array(nameSegment, { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join('/'));

/**
 * Variable and slot names, biased towards names that live on Object.prototype: they must behave like
 * any other name, in validation and in rendering.
 */
export const PROTOTYPE_NAMES = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  'prototype',
  'length',
] as const;

export const identifierArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ_'.split('')),
        fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'.split('')), maxLength: 10 }),
      )
      .map(([first, rest]) => first + rest)
      .filter((name) => name !== '__proto__'),
  },
);

/**
 * Characters that stress YAML quoting and JSON escaping: quotes, YAML indicators, whitespace at the
 * edges of lines, line breaks, control characters, non-ASCII and astral characters. No braces, so
 * generated text never contains an accidental mustache tag.
 */
const SPECIAL_CHARS = [
  ' ',
  '  ',
  '\n',
  '\t',
  '\r\n',
  '"',
  "'",
  ':',
  ': ',
  '#',
  ' #',
  '-',
  '- ',
  '?',
  '|',
  '>',
  '&',
  '*',
  '!',
  '%',
  '@',
  '`',
  ',',
  '[',
  ']',
  '\\',
  '\u0000',
  '\u0007',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\ufeff',
  'é',
  '€',
  '日本',
  '😀',
  'null',
  'true',
  '0x1F',
  '1e3',
  '---',
  '...',
  '<b>&amp;</b>',
];

export const textArb = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...'abcdefghij ABC.,;!?0123456789'.split('')) },
      { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARS) },
    ),
    maxLength,
  });

const jsonKeyArb = fc.oneof(textArb(6), identifierArb).filter((key) => key !== '__proto__');

export const jsonValueArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    textArb(8),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(jsonKeyArb, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;

const jsonObjectArb = fc.dictionary(jsonKeyArb, jsonValueArb, { maxKeys: 3, noNullPrototype: true });

/** A value of a declared variable type. */
export const valueOfType = (type: VariableSpec['type']): fc.Arbitrary<JsonValue> => {
  switch (type) {
    case 'string':
      return textArb();
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'integer':
      return fc.integer();
    case 'boolean':
      return fc.boolean();
    case 'object':
      return jsonObjectArb;
    case 'array':
      return fc.array(jsonValueArb, { maxLength: 3 });
    case 'any':
      return jsonValueArb;
  }
};

export const variableSpecArb: fc.Arbitrary<VariableSpec> = fc.constantFrom(...VARIABLE_TYPES).chain((type) =>
  fc.record(
    {
      type: fc.constant(type),
      required: fc.boolean(),
      default: valueOfType(type),
      description: textArb(20),
      schema: jsonObjectArb,
    },
    { requiredKeys: ['type', 'required'] },
  ),
) as fc.Arbitrary<VariableSpec>;

/**
 * A template over the given variables and slots: text, `{{var}}`, `{{{var}}}`, `{{&var}}`, sections and
 * inverted sections over declared variables (whose bodies may read item fields and `{{.}}`), comments
 * and `{{> slot}}` partials.
 */
export const templateArb = (variables: readonly string[], slots: readonly string[]): fc.Arbitrary<string> => {
  const text = textArb(16);
  const parts: fc.Arbitrary<string>[] = [
    text,
    fc.constant(''),
    textArb(4).map((t) => `{{! ${t.replace(/\r?\n/g, ' ')} }}`),
  ];
  if (variables.length > 0) {
    const variable = fc.constantFrom(...variables);
    parts.push(
      variable.map((name) => `{{${name}}}`),
      variable.map((name) => `{{{${name}}}}`),
      variable.map((name) => `{{& ${name}}}`),
      fc
        .tuple(
          variable,
          fc.constantFrom('#', '^'),
          fc.array(fc.oneof(text, fc.constantFrom('{{.}}', '{{field}}', '{{a.b}}')), { maxLength: 3 }),
        )
        .map(([name, kind, inner]) => `{{${kind}${name}}}${inner.join('')}{{/${name}}}`),
    );
  }
  if (slots.length > 0) parts.push(fc.constantFrom(...slots).map((slot) => `{{> ${slot}}}`));
  return fc.array(fc.oneof(...parts), { maxLength: 6 }).map((pieces) => pieces.join(''));
};

const paramKeyArb = jsonKeyArb.filter((key) => key !== 'provider' && key !== 'name');

const configArb = fc.record(
  {
    provider: fc.constantFrom('openai', 'anthropic', 'simulated', 'my provider: "x"'),
    model: fc.oneof(
      fc.constantFrom('gpt-4o-mini', 'claude-3-5-haiku', '1.5'),
      textArb(8).filter((m) => m.length > 0),
    ),
    params: fc.dictionary(paramKeyArb, jsonValueArb, { maxKeys: 4, noNullPrototype: true }),
  },
  { requiredKeys: ['params'] },
);

interface ContentOptions {
  readonly type?: PromptContent['type'];
}

/**
 * A valid prompt content. Slot i may include only slots before it, so slots never recurse, and every
 * template reads only declared variables at the top level.
 */
export const promptContentArb = (options: ContentOptions = {}): fc.Arbitrary<PromptContent> =>
  fc
    .record({
      name: promptNameArb,
      type: options.type === undefined ? fc.constantFrom('text' as const, 'chat' as const) : fc.constant(options.type),
      variableNames: fc.uniqueArray(identifierArb, { maxLength: 4 }),
      slotNames: fc.uniqueArray(identifierArb, { maxLength: 3 }),
      config: configArb,
    })
    .chain(({ name, type, variableNames, slotNames, config }) => {
      const variables = fc.tuple(...variableNames.map(() => variableSpecArb));
      const slots = fc.tuple(...slotNames.map((_, index) => templateArb(variableNames, slotNames.slice(0, index))));
      const body =
        type === 'text'
          ? templateArb(variableNames, slotNames).map((template) => ({ template }))
          : fc
              .array(
                fc.record({ role: fc.constantFrom(...MESSAGE_ROLES), content: templateArb(variableNames, slotNames) }),
                { minLength: 1, maxLength: 4 },
              )
              .map((messages: ChatMessage[]) => ({ messages }));
      return fc.tuple(variables, slots, body).map(
        ([specs, slotTemplates, rest]) =>
          ({
            name,
            type,
            config,
            variables: Object.fromEntries(variableNames.map((variable, index) => [variable, specs[index]])),
            slots: Object.fromEntries(slotNames.map((slot, index) => [slot, slotTemplates[index]])),
            ...rest,
          }) as PromptContent,
      );
    });

/** Variables to render `content` with: every required variable, and some optional ones. */
export const varsFor = (content: PromptContent): fc.Arbitrary<Record<string, JsonValue>> => {
  const entries = Object.entries(content.variables).map(([name, spec]) =>
    fc
      .tuple(spec.required ? fc.constant(true) : fc.boolean(), valueOfType(spec.type))
      .map(([give, value]) => (give ? [[name, value] as const] : [])),
  );
  return fc.tuple(...entries).map((chosen) => Object.fromEntries(chosen.flat()));
};

/** Deep copy with the keys of every object in a random order (arrays keep their order). */
export const shuffleKeys = (value: unknown, random: () => number): unknown => {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, random));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  for (let index = keys.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [keys[index], keys[other]] = [keys[other]!, keys[index]!];
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = shuffleKeys((value as Record<string, unknown>)[key], random);
  return out;
};

/** A seeded pseudo-random source for `shuffleKeys`, so failures reproduce from fast-check's seed. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
};
