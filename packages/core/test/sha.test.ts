import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Document, Scalar, visit } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  MESSAGE_ROLES,
  VARIABLE_TYPES,
  canonicalJson,
  parsePromptFile,
  promptSha,
  validatePromptContent,
  type PromptContent,
} from '../src/index.js';
import { promptContentArb, seededRandom, shuffleKeys } from './arbitraries.js';
import { GREETER_NAME, GREETER_SHA, greeterV17, readFixture } from './helpers.js';

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * The content spelled as a prompt file, written by hand here (not by formatPromptFile), choosing at
 * random among equivalent spellings: `user_name: string` shorthand, `type: string` left out, `required`
 * left out when implied by the default, empty sections left out, `name:` left to the path.
 */
const toFileObject = (content: PromptContent, random: () => number): Record<string, unknown> => {
  const model: Record<string, unknown> = { ...content.config.params };
  if (content.config.provider !== undefined) model.provider = content.config.provider;
  if (content.config.model !== undefined) model.name = content.config.model;
  const variables = Object.fromEntries(
    Object.entries(content.variables).map(([name, spec]) => {
      const implied = spec.required === (spec.default === undefined);
      const plain =
        implied && spec.default === undefined && spec.description === undefined && spec.schema === undefined;
      if (plain && random() < 0.5) return [name, spec.type];
      const file: Record<string, unknown> = { ...spec };
      if (spec.type === 'string' && random() < 0.5) delete file.type;
      if (implied && random() < 0.5) delete file.required;
      return [name, file];
    }),
  );
  const file: Record<string, unknown> = {};
  if (random() < 0.5) file.name = content.name;
  if (content.type === 'chat' ? random() < 0.5 : true) file.type = content.type; // chat is implied by messages
  if (Object.keys(model).length > 0 || random() < 0.2) file.model = model;
  if (Object.keys(variables).length > 0 || random() < 0.2) file.variables = variables;
  if (Object.keys(content.slots).length > 0 || random() < 0.2) file.slots = content.slots;
  if (content.type === 'text') file.template = content.template;
  else file.messages = content.messages;
  return file;
};

const SCALAR_TYPES: Scalar.Type[] = [
  Scalar.PLAIN,
  Scalar.QUOTE_DOUBLE,
  Scalar.QUOTE_SINGLE,
  Scalar.BLOCK_LITERAL,
  Scalar.BLOCK_FOLDED,
];

/** YAML text of `value` with a random layout: flow or block per collection, a quoting style per string. */
const toRandomYaml = (value: unknown, random: () => number): string => {
  const doc = new Document(value);
  visit(doc, {
    Map: (_, node) => {
      node.flow = random() < 0.4;
    },
    Seq: (_, node) => {
      node.flow = random() < 0.4;
    },
    Scalar: (key, node) => {
      if (typeof node.value !== 'string') return;
      // Block scalars only as values, and only for text with a visible character: yaml 2.9 writes
      // invalid YAML for a block-scalar key, and a whitespace-only block scalar reads back as "".
      const block = key !== 'key' && /\S/.test(node.value);
      // Multi-line text is never plain: yaml 2.9 writes "-\na", ":\na" or "?\na" as plain lines that
      // read back as a list, a mapping or an error.
      const types = node.value.includes('\n') ? [Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE] : SCALAR_TYPES.slice(0, 3);
      node.type = pick(random, block ? [...types, Scalar.BLOCK_LITERAL, Scalar.BLOCK_FOLDED] : types);
    },
  });
  // Folding (lineWidth > 0) only with literal blocks: yaml 2.9 folds a more-indented line of a folded
  // block scalar (" {{{a}}}aaaa aaaaa{{! aa }}…" at width 40) so that it reads back with a newline.
  const blockQuote = pick(random, [true, false, 'literal', 'folded'] as const);
  const lineWidth = blockQuote === 'literal' || blockQuote === false ? pick(random, [0, 40, 80]) : 0;
  // Indent stays 2 and folding has no minimum content width: yaml 2.9 itself writes block scalars that
  // read back differently with `indent: 3|4` (a wrong indentation indicator) or with
  // `lineWidth: 20, minContentWidth: 20` (a folded scalar gains a leading newline). Those are yaml bugs.
  return doc.toString({
    indent: 2,
    // indentSeq stays true: yaml 2.9 writes `key:\n  []` (invalid) for an empty list with indentSeq false.
    indentSeq: true,
    lineWidth,
    minContentWidth: 0,
    flowCollectionPadding: random() < 0.5,
    blockQuote,
  });
};

const parseFile = (text: string, name: string): PromptContent =>
  parsePromptFile(text, { file: `${name}.prompt.yaml`, defaultName: name });

describe('promptSha: the demo greeter vector', () => {
  it(`the fixture parsed with defaultName ${GREETER_NAME} has sha ${GREETER_SHA.slice(0, 12)}…`, () => {
    expect(promptSha(greeterV17())).toBe(GREETER_SHA);
  });

  it('is sha256 of the RFC 8785 JSON of the content, checked against a hand-written canonical form', () => {
    const canonical =
      '{"config":{"model":"gpt-4o-mini","params":{"temperature":0.2},"provider":"openai"},' +
      '"messages":[{"content":"You are a helpful support agent.\\nAlways greet the user by name.\\n' +
      'Always end with \\"Is there anything else I can help with?\\"\\n","role":"system"},' +
      '{"content":"{{user_name}} asks: {{question}}","role":"user"}],"name":"customer_support_greeter",' +
      '"slots":{},"type":"chat","variables":{"question":{"required":true,"type":"string"},' +
      '"user_name":{"required":true,"type":"string"}}}';
    expect(canonicalJson(greeterV17())).toBe(canonical);
    expect(createHash('sha256').update(canonical, 'utf8').digest('hex')).toBe(GREETER_SHA);
  });

  it.each([
    [
      'block style, shorthand variables, name written out, keys reordered',
      `name: customer_support_greeter
messages:
  - content: |
      You are a helpful support agent.
      Always greet the user by name.
      Always end with "Is there anything else I can help with?"
    role: system
  - content: '{{user_name}} asks: {{question}}'
    role: user
variables:
  question: string
  user_name:
    required: true
model:
  temperature: 0.20
  name: "gpt-4o-mini"
  provider: 'openai'
`,
    ],
    [
      'unindented list, folded and literal scalars, explicit required',
      `type: chat
messages:
- role: system
  content: >
    You are a helpful support agent.

    Always greet the user by name.

    Always end with "Is there anything else I can help with?"
- role: user
  content: |-
    {{user_name}} asks: {{question}}
model:
  provider: openai
  name: gpt-4o-mini
  temperature: 0.2
variables:
  user_name: { type: string, required: true }
  question: { required: true }
`,
    ],
    [
      'all flow style, double-quoted escapes, type left to messages',
      `{ "model": { "provider": "openai", "name": "gpt-4o-mini", "temperature": 2e-1 },
  "variables": { "user_name": { "type": "string" }, "question": { "type": "string", "required": true } },
  "messages": [
    { "role": "system", "content": "You are a helpful support agent.\\nAlways greet the user by name.\\nAlways end with \\"Is there anything else I can help with?\\"\\n" },
    { "role": "user", "content": "{{user_name}} asks: {{question}}" } ],
  "slots": {} }
`,
    ],
  ])('is the same for an equivalent file: %s', (_, text) => {
    expect(promptSha(parseFile(text, GREETER_NAME))).toBe(GREETER_SHA);
  });

  it('differs when the name comes from a different path', () => {
    expect(promptSha(parseFile(readFixture(), 'support/greeter'))).not.toBe(GREETER_SHA);
  });
});

describe('promptSha: stable under key order and YAML layout', () => {
  it('is the same when object keys are shuffled at every level', () => {
    fc.assert(
      fc.property(promptContentArb(), fc.integer(), (content, seed) => {
        const shuffled = shuffleKeys(content, seededRandom(seed));
        expect(promptSha(shuffled as PromptContent)).toBe(promptSha(content));
        // Validation (what the server runs on a push) keeps the identity too.
        expect(promptSha(validatePromptContent(shuffled))).toBe(promptSha(content));
      }),
    );
  });

  it('is the same when the prompt file is re-serialized with shuffled keys, flow or block style and any quoting', () => {
    fc.assert(
      fc.property(promptContentArb(), fc.integer(), (content, seed) => {
        const random = seededRandom(seed);
        const text = toRandomYaml(shuffleKeys(toFileObject(content, random), random), random);
        expect(promptSha(parseFile(text, content.name))).toBe(promptSha(content));
      }),
      { numRuns: 200 },
    );
  });
});

type Mutation = (content: PromptContent, random: () => number) => PromptContent | undefined;

const clone = (content: PromptContent): PromptContent => structuredClone(content);

/** Replaces or inserts one character (by code point, so no lone surrogate is ever made). */
const changeOneCharacter = (text: string, random: () => number): string => {
  const chars = Array.from(text);
  const index = Math.floor(random() * (chars.length + 1));
  if (index === chars.length || random() < 0.3) chars.splice(index, 0, 'x');
  else chars[index] = chars[index] === 'x' ? 'y' : 'x';
  return chars.join('');
};

const MUTATIONS: Record<string, Mutation> = {
  'a character in a template': (content, random) => {
    const next = clone(content);
    if (next.type === 'text') next.template = changeOneCharacter(next.template, random);
    else {
      const message = pick(random, next.messages);
      message.content = changeOneCharacter(message.content, random);
    }
    return next;
  },
  'a character in a slot': (content, random) => {
    const slots = Object.keys(content.slots);
    if (slots.length === 0) return undefined;
    const next = clone(content);
    const slot = pick(random, slots);
    next.slots[slot] = changeOneCharacter(next.slots[slot]!, random);
    return next;
  },
  'a param value': (content, random) => {
    const next = clone(content);
    const keys = Object.keys(next.config.params);
    if (keys.length === 0) next.config.params.temperature = 0.5;
    else {
      const key = pick(random, keys);
      next.config.params[key] = [next.config.params[key]!];
    }
    return next;
  },
  'the model': (content) => {
    const next = clone(content);
    next.config.model = `${content.config.model ?? ''}-next`;
    return next;
  },
  "a variable's type": (content, random) => {
    const names = Object.keys(content.variables);
    if (names.length === 0) return undefined;
    const next = clone(content);
    const spec = next.variables[pick(random, names)]!;
    spec.type = pick(
      random,
      VARIABLE_TYPES.filter((type) => type !== spec.type),
    );
    return next;
  },
  "a variable's required flag": (content, random) => {
    const names = Object.keys(content.variables);
    if (names.length === 0) return undefined;
    const next = clone(content);
    const spec = next.variables[pick(random, names)]!;
    spec.required = !spec.required;
    return next;
  },
  'a message role': (content, random) => {
    if (content.type !== 'chat') return undefined;
    const next = clone(content) as typeof content;
    const message = pick(random, next.messages);
    message.role = pick(
      random,
      MESSAGE_ROLES.filter((role) => role !== message.role),
    );
    return next;
  },
  'adding a slot': (content) => {
    const next = clone(content);
    let name = 'extra_slot';
    while (Object.prototype.hasOwnProperty.call(next.slots, name)) name += '_';
    next.slots[name] = '';
    return next;
  },
  'adding a variable': (content) => {
    const next = clone(content);
    let name = 'extra_var';
    while (Object.prototype.hasOwnProperty.call(next.variables, name)) name += '_';
    next.variables[name] = { type: 'string', required: false };
    return next;
  },
  'the name': (content) => ({ ...clone(content), name: `${content.name}x` }),
  'adding a message': (content) => {
    if (content.type !== 'chat') return undefined;
    return { ...clone(content), messages: [...content.messages, { role: 'user', content: '' }] };
  },
};

describe('promptSha: any single change changes it', () => {
  it.each(Object.keys(MUTATIONS))('changes when %s changes', (kind) => {
    const mutate = MUTATIONS[kind]!;
    let applied = 0;
    fc.assert(
      fc.property(promptContentArb(), fc.integer(), (content, seed) => {
        const next = mutate(content, seededRandom(seed));
        fc.pre(next !== undefined);
        applied += 1;
        expect(canonicalJson(next)).not.toBe(canonicalJson(content));
        expect(promptSha(next)).not.toBe(promptSha(content));
      }),
    );
    expect(applied).toBeGreaterThan(0);
  });

  it.each([
    [
      'one character of the system message',
      (c: PromptContent) => JSON.parse(JSON.stringify(c).replace('helpful', 'helpfull')),
    ],
    ['temperature 0.2 -> 0.5', (c: PromptContent) => ({ ...c, config: { ...c.config, params: { temperature: 0.5 } } })],
    [
      'the type of user_name',
      (c: PromptContent) => ({
        ...c,
        variables: { ...c.variables, user_name: { type: 'any', required: true } },
      }),
    ],
    ['a slot added', (c: PromptContent) => ({ ...c, slots: { signature: '' } })],
  ])('changes the greeter sha: %s', (_, change) => {
    const content = greeterV17();
    expect(promptSha(change(content) as PromptContent)).not.toBe(GREETER_SHA);
  });

  it('uses a fixture that is byte for byte the public contract example', () => {
    // A formatter (prettier's singleQuote, see fixtures/.prettierrc.json) must not rewrite it.
    expect(readFixture()).toBe(
      [
        'type: chat',
        'model: { provider: openai, name: gpt-4o-mini, temperature: 0.2 }',
        'variables:',
        '  user_name: { type: string }',
        '  question: { type: string }',
        'messages:',
        '  - role: system',
        '    content: |',
        '      You are a helpful support agent.',
        '      Always greet the user by name.',
        '      Always end with "Is there anything else I can help with?"',
        '  - role: user',
        '    content: "{{user_name}} asks: {{question}}"',
        '',
      ].join('\n'),
    );
  });
});
