import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  renderPrompt,
  resolveVariables,
  semanticIssues,
  templatesOf,
  validatePromptContent,
  type PromptContent,
  type VariableSpec,
} from '../src/index.js';
import { promptContentArb, varsFor } from './arbitraries.js';
import { catchPromptopsError, greeterV17, textContent } from './helpers.js';

const withVariables = (template: string, variables: Record<string, VariableSpec>, name = 'greeter'): PromptContent =>
  validatePromptContent(textContent(template, { name, variables }));

describe('resolveVariables', () => {
  const content = withVariables('{{user_name}} {{count}} {{tone}}', {
    user_name: { type: 'string', required: true },
    count: { type: 'integer', required: false, default: 3 },
    tone: { type: 'string', required: false },
  });

  it('applies defaults and leaves optional variables without a default out', () => {
    expect(resolveVariables(content, { user_name: 'Ada' })).toEqual({ user_name: 'Ada', count: 3 });
    expect(resolveVariables(content, { user_name: 'Ada', count: 7, tone: 'warm' })).toEqual({
      user_name: 'Ada',
      count: 7,
      tone: 'warm',
    });
    // undefined means "not given": the default applies.
    expect(resolveVariables(content, { user_name: 'Ada', count: undefined })).toEqual({ user_name: 'Ada', count: 3 });
  });

  it('refuses a missing required variable, naming the variable and the prompt', () => {
    const error = catchPromptopsError(() => resolveVariables(content, {}));
    expect(error.code).toBe('invalid_variables');
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain('user_name');
    expect(error.message).toContain('greeter');
    expect(error.message).toMatch(/required/);
    expect(error.issues).toEqual([
      expect.objectContaining({ path: 'variables', message: expect.stringContaining('user_name') }),
    ]);
  });

  it('refuses a variable the prompt does not declare, naming both and listing the declared ones', () => {
    const error = catchPromptopsError(() => resolveVariables(content, { user_name: 'Ada', usr_name: 'typo' }));
    expect(error.code).toBe('invalid_variables');
    expect(error.message).toContain('"usr_name"');
    expect(error.message).toContain("'greeter'");
    expect(error.message).toContain('declared: user_name, count, tone');
    const none = withVariables('hi', {}, 'plain');
    expect(catchPromptopsError(() => resolveVariables(none, { x: 1 })).message).toContain('declared: none');
  });

  it('refuses names that only exist on Object.prototype', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const error = catchPromptopsError(() => resolveVariables(content, { user_name: 'Ada', [name]: 'x' }));
      expect(error.message).toContain(`"${name}"`);
    }
  });

  it.each<[VariableSpec['type'], unknown[], unknown[]]>([
    ['string', ['', 'x'], [1, true, null, ['x'], { a: 1 }]],
    ['number', [0, -1.5, 1e21], ['1', Number.NaN, Number.POSITIVE_INFINITY, true, null]],
    ['integer', [0, -3, 2 ** 53], [1.5, '1', Number.NaN, null]],
    ['boolean', [true, false], ['true', 0, null]],
    ['object', [{}, { a: [1] }], [[], null, 'x', 1]],
    ['array', [[], [1, 'a', null]], [{}, 'x', null]],
    ['any', [null, 1, 'x', [], {}, true], []],
  ])('checks type %s', (type, good, bad) => {
    const typed = withVariables('{{v}}', { v: { type, required: true } });
    for (const value of good) expect(resolveVariables(typed, { v: value })).toEqual({ v: value });
    for (const value of bad) {
      const error = catchPromptopsError(() => resolveVariables(typed, { v: value }));
      expect(error.code).toBe('invalid_variables');
      expect(error.message).toContain('{{v}}');
      expect(error.message).toMatch(new RegExp(`type ${type}|JSON data`));
    }
  });

  it('names the type it got', () => {
    const typed = withVariables('{{v}}', { v: { type: 'object', required: true } });
    expect(catchPromptopsError(() => resolveVariables(typed, { v: [1] })).message).toContain('got array');
    expect(catchPromptopsError(() => resolveVariables(typed, { v: 'x' })).message).toContain('got string');
  });

  it('refuses values that are not JSON data, without running any of them', () => {
    const calls: string[] = [];
    const getter = Object.defineProperty({}, 'name', {
      get: () => {
        calls.push('getter');
        return 'Ada';
      },
      enumerable: true,
    });
    const hiddenGetter = Object.defineProperty({ a: 1 }, 'hidden', {
      get: () => {
        calls.push('hidden getter');
        return 1;
      },
      enumerable: false,
    });
    const arrayGetter = Object.defineProperty([1, 2], '1', {
      get: () => {
        calls.push('array getter');
        return 2;
      },
    });
    const typed = withVariables('{{v}}', { v: { type: 'any', required: true } });
    const notData: unknown[] = [
      () => 'x',
      { toJSON: () => calls.push('toJSON') },
      getter,
      hiddenGetter,
      arrayGetter,
      { nested: [{ deep: () => calls.push('deep') }] },
      new Date(0),
      new Map([['a', 1]]),
      /re/,
      Symbol('s'),
      10n,
      { [Symbol('k')]: 1 },
      new (class Point {
        x = 1;
      })(),
    ];
    for (const value of notData) {
      const error = catchPromptopsError(() => resolveVariables(typed, { v: value }));
      expect(error.message).toContain('must be JSON data');
    }
    expect(calls).toEqual([]);
  });

  it('accepts plain data, including null-prototype objects and own keys named like prototype members', () => {
    const typed = withVariables('{{v}}', { v: { type: 'object', required: true } });
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(resolveVariables(typed, { v: bare })).toEqual({ v: bare });
    const named = { constructor: 'c', toString: 't', __proto__x: 1 };
    expect(resolveVariables(typed, { v: named })).toEqual({ v: named });
  });

  it('refuses data nested deeper than it can check', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i += 1) deep = [deep];
    const typed = withVariables('{{v}}', { v: { type: 'array', required: true } });
    expect(catchPromptopsError(() => resolveVariables(typed, { v: deep })).code).toBe('invalid_variables');
  });

  it('reports every problem at once', () => {
    const error = catchPromptopsError(() => resolveVariables(content, { count: 'x', extra: 1 }));
    expect(error.issues).toHaveLength(3);
    expect(error.message).toContain('"extra"');
    expect(error.message).toContain('{{user_name}}');
    expect(error.message).toContain('{{count}}');
  });
});

describe('renderPrompt', () => {
  it('renders the greeter, each chat message on its own, roles kept', () => {
    const rendered = renderPrompt(greeterV17(), { user_name: 'Ada', question: 'Where is my order <#123>?' });
    expect(rendered).toEqual({
      type: 'chat',
      messages: [
        {
          role: 'system',
          content:
            'You are a helpful support agent.\nAlways greet the user by name.\nAlways end with "Is there anything else I can help with?"\n',
        },
        { role: 'user', content: 'Ada asks: Where is my order <#123>?' },
      ],
    });
  });

  it('renders a text prompt with defaults applied', () => {
    const content = withVariables('Hello {{name}}, you have {{count}} messages{{#vip}} (VIP){{/vip}}.', {
      name: { type: 'string', required: true },
      count: { type: 'integer', required: false, default: 0 },
      vip: { type: 'boolean', required: false, default: false },
    });
    expect(renderPrompt(content, { name: 'Ada' })).toEqual({ type: 'text', text: 'Hello Ada, you have 0 messages.' });
    expect(renderPrompt(content, { name: 'Ada', count: 2, vip: true })).toEqual({
      type: 'text',
      text: 'Hello Ada, you have 2 messages (VIP).',
    });
  });

  it('refuses bad variables before rendering anything', () => {
    const content = greeterV17();
    const missing = catchPromptopsError(() => renderPrompt(content, { user_name: 'Ada' }));
    expect(missing.message).toContain('{{question}}');
    expect(missing.message).toContain('customer_support_greeter');
    const undeclared = catchPromptopsError(() =>
      renderPrompt(content, { user_name: 'Ada', question: 'q', topic: 't' }),
    );
    expect(undeclared.message).toContain('"topic"');
    expect(undeclared.message).toContain('customer_support_greeter');
    const wrong = catchPromptopsError(() => renderPrompt(content, { user_name: 42, question: 'q' }));
    expect(wrong.message).toContain('{{user_name}} must be of type string, got number');
  });

  it('uses the prompt slots, or the slots it is given (tenant overrides)', () => {
    const content = validatePromptContent(
      textContent('Hi {{name}}.\n{{> signature}}', {
        variables: {
          name: { type: 'string', required: true },
          team: { type: 'string', required: false, default: 'Support' },
        },
        slots: { signature: '-- {{team}}' },
      }),
    );
    expect(renderPrompt(content, { name: 'Ada' })).toEqual({ type: 'text', text: 'Hi Ada.\n-- Support' });
    expect(renderPrompt(content, { name: 'Ada' }, { signature: 'Cheers, {{team}} at ACME' })).toEqual({
      type: 'text',
      text: 'Hi Ada.\nCheers, Support at ACME',
    });
    const error = catchPromptopsError(() => renderPrompt(content, { name: 'Ada' }, {}));
    expect(error.code).toBe('missing_slot');
    expect(error.message).toContain("prompt 'p' template");
  });

  it('names the message whose slot is missing', () => {
    const content = validatePromptContent({
      name: 'chat',
      type: 'chat',
      config: { params: {} },
      variables: {},
      slots: { s: 'x' },
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: '{{> s}}' },
      ],
    });
    const error = catchPromptopsError(() => renderPrompt(content, {}, {}));
    expect(error.message).toContain("prompt 'chat' messages[1].content");
  });

  it('renders every generated prompt with generated variables: same shape, no escaping, deterministic', () => {
    fc.assert(
      fc.property(
        promptContentArb().chain((content) => fc.tuple(fc.constant(content), varsFor(content))),
        ([content, vars]) => {
          const rendered = renderPrompt(content, vars);
          expect(renderPrompt(content, vars)).toEqual(rendered);
          if (content.type === 'chat') {
            expect(rendered.type).toBe('chat');
            if (rendered.type === 'chat') {
              expect(rendered.messages.map((m) => m.role)).toEqual(content.messages.map((m) => m.role));
            }
          } else {
            expect(rendered.type).toBe('text');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('puts a string variable into the output verbatim', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const content = withVariables('[{{v}}]', { v: { type: 'string', required: true } });
        expect(renderPrompt(content, { v: value })).toEqual({ type: 'text', text: `[${value}]` });
      }),
    );
  });
});

describe('validatePromptContent and semanticIssues', () => {
  it('accepts generated contents as they are', () => {
    fc.assert(
      fc.property(promptContentArb(), (content) => {
        expect(semanticIssues(content)).toEqual([]);
        expect(validatePromptContent(content)).toEqual(content);
      }),
    );
  });

  it('lists every template with where it sits', () => {
    const chat = greeterV17();
    expect(templatesOf({ ...chat, slots: { sig: 'x' } }).map((t) => t.path)).toEqual([
      'messages[0].content',
      'messages[1].content',
      'slots.sig',
    ]);
    expect(templatesOf(textContent('t')).map((t) => t.path)).toEqual(['template']);
  });

  it('reports undeclared variables, unknown slots, defaults of the wrong type and unparsable templates', () => {
    const issues = semanticIssues(
      textContent('{{a}} {{#list}}{{item}}{{/list}} {{> nope}}', {
        variables: { a: { type: 'number', required: false, default: 'x' } },
        slots: { s: '{{#open}}' },
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['template', 'template', 'slots.s', 'variables.a.default']);
    expect(issues[0]!.message).toContain('{{list}}');
    expect(issues[1]!.message).toContain('{{> nope}}');
  });

  it('refuses schema errors with code invalid_prompt and field paths', () => {
    const error = catchPromptopsError(() =>
      validatePromptContent({ name: 'p', type: 'text', template: 1, config: { params: {} }, variables: {}, slots: {} }),
    );
    expect(error.code).toBe('invalid_prompt');
    expect(error.issues?.map((issue) => issue.path)).toEqual(['template']);
    const unknown = catchPromptopsError(() => validatePromptContent({ ...textContent('x'), extra: 1 }));
    expect(unknown.issues?.map((issue) => issue.path)).toEqual(['extra']);
  });

  it('refuses model params named provider or name: a prompt file could not write them back', () => {
    for (const key of ['provider', 'name']) {
      const error = catchPromptopsError(() =>
        validatePromptContent(textContent('x', { config: { model: 'm', params: { [key]: 'other' } } })),
      );
      expect(error.issues?.map((issue) => issue.path)).toEqual([`config.params.${key}`]);
    }
  });

  it('refuses __proto__ keys instead of silently dropping them', () => {
    const input = JSON.parse(
      '{"name":"p","type":"text","template":"{{a}}","config":{"params":{"__proto__":{"x":1}}},"variables":{"a":{"type":"string","required":true}},"slots":{}}',
    ) as unknown;
    const error = catchPromptopsError(() => validatePromptContent(input));
    expect(error.issues?.map((issue) => issue.path)).toEqual(['config.params.__proto__']);
  });
});
