import { describe, expect, it } from 'vitest';
import {
  CONTENT_LIMITS,
  MAX_SECTION_DEPTH,
  canonicalJson,
  extractReferences,
  formatPromptFile,
  parsePromptFile,
  renderTemplate,
  validatePromptContent,
  type PromptContent,
} from '../src/index.js';
import { catchPromptopsError, textContent } from './helpers.js';

/** Caps on prompt content, nesting depth and well-formed text: a 400 naming the field, never a crash. */

const chat = (messages: { role: 'user'; content: string }[]): PromptContent =>
  ({ name: 'p', type: 'chat', messages, config: { params: {} }, variables: {}, slots: {} }) as PromptContent;

const refused = (content: unknown, path: string) => {
  const error = catchPromptopsError(() => validatePromptContent(content));
  expect(error.code).toBe('invalid_prompt');
  expect(error.kind).toBe('invalid');
  const issue = (error.issues ?? []).find((candidate) => candidate.path === path);
  expect(issue, `an issue at ${path} in ${JSON.stringify(error.issues)}`).toBeDefined();
  return issue!;
};

const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let index = 0; index < depth; index += 1) value = index % 2 === 0 ? [value] : { k: value };
  return value;
};

const fmt = (n: number): string => n.toLocaleString('en-US');

describe('content size caps', () => {
  const max = CONTENT_LIMITS.templateCharacters;

  it('are documented numbers, generous for real prompts', () => {
    expect(max).toBeGreaterThanOrEqual(100_000);
    expect(CONTENT_LIMITS.totalTemplateCharacters).toBeGreaterThanOrEqual(max);
    expect(CONTENT_LIMITS.depth).toBe(64);
  });

  it('accept a template at the cap and refuse one past it, naming the field, the limit and the fix', () => {
    expect(validatePromptContent(textContent('x'.repeat(max))).type).toBe('text');
    const issue = refused(textContent('x'.repeat(max + 1)), 'template');
    expect(issue.message).toContain(fmt(max));
    expect(issue.message).toContain(fmt(max + 1));
    expect(issue.message).toMatch(/variable|slot/);
  });

  it('apply to each message and each slot', () => {
    refused(
      chat([
        { role: 'user', content: 'hi' },
        { role: 'user', content: 'y'.repeat(max + 1) },
      ]),
      'messages[1].content',
    );
    refused(textContent('hi', { slots: { big: 'z'.repeat(max + 1) } }), 'slots.big');
  });

  it('bound all templates together', () => {
    const count = Math.ceil(CONTENT_LIMITS.totalTemplateCharacters / max) + 1;
    const slots = Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, 'w'.repeat(max)]));
    // No one field is at fault: the issue sits at the content's root and names what it adds up.
    const issue = refused(textContent('hi', { slots }), '');
    expect(issue.message).toContain(fmt(CONTENT_LIMITS.totalTemplateCharacters));
    expect(issue.message).toMatch(/templates, messages and slots/);
  });

  it('bound the number of messages, slots and variables', () => {
    const many = CONTENT_LIMITS.messages + 1;
    const messageIssue = refused(
      chat(Array.from({ length: many }, () => ({ role: 'user', content: 'a' }))),
      'messages',
    );
    expect(messageIssue.message).toContain(fmt(CONTENT_LIMITS.messages));
    const slots = Object.fromEntries(Array.from({ length: CONTENT_LIMITS.slots + 1 }, (_, i) => [`s${i}`, '']));
    refused(textContent('hi', { slots }), 'slots');
    const variables = Object.fromEntries(
      Array.from({ length: CONTENT_LIMITS.variables + 1 }, (_, i) => [`v${i}`, { type: 'string', required: false }]),
    );
    refused(textContent('hi', { variables } as never), 'variables');
  });

  it('bound variable and slot names', () => {
    const long = 'n'.repeat(CONTENT_LIMITS.nameCharacters + 1);
    refused(textContent('hi', { slots: { [long]: '' } }), `slots.${long}`);
  });
});

describe('nesting depth', () => {
  it('refuses JSON nested thousands deep with an error naming where, never a stack overflow', () => {
    const deepDefault = textContent('{{x}}', {
      variables: { x: { type: 'any', required: false, default: nested(2000) } },
    } as never);
    const error = catchPromptopsError(() => validatePromptContent(deepDefault));
    expect(error.code).toBe('invalid_prompt');
    expect(error.issues?.[0]?.path.startsWith('variables.x.default')).toBe(true);
    expect(error.issues?.[0]?.message).toContain(String(CONTENT_LIMITS.depth));
    const deepParams = { ...textContent('hi'), config: { params: { p: nested(100_000) } } };
    expect(catchPromptopsError(() => validatePromptContent(deepParams)).issues?.[0]?.path).toMatch(
      /^config\.params\.p/,
    );
  });

  it('accepts content right at the bound, and a prompt file shows it', () => {
    // content (0) > config (1) > params (2) > p (3): the value may nest to the bound.
    const atBound = { ...textContent('hi'), config: { params: { p: nested(CONTENT_LIMITS.depth - 3) } } };
    const content = validatePromptContent(atBound);
    const file = formatPromptFile(content);
    expect(parsePromptFile(file, { file: 'p.prompt.yaml', defaultName: 'p' })).toEqual(content);
    const overBound = { ...textContent('hi'), config: { params: { p: nested(CONTENT_LIMITS.depth - 2) } } };
    catchPromptopsError(() => validatePromptContent(overBound));
  });

  it('bounds mustache sections nested in a template', () => {
    const open = (n: number) => '{{#s}}'.repeat(n) + 'x' + '{{/s}}'.repeat(n);
    const variables = { s: { type: 'any', required: false } };
    expect(validatePromptContent(textContent(open(MAX_SECTION_DEPTH), { variables } as never)).type).toBe('text');
    const issue = refused(textContent(open(MAX_SECTION_DEPTH + 1), { variables } as never), 'template');
    expect(issue.message).toContain(String(MAX_SECTION_DEPTH));
    // Far deeper than the stack could walk: an error naming the template, not a RangeError.
    expect(catchPromptopsError(() => extractReferences(open(50_000), 'slots.deep')).message).toContain('slots.deep');
    expect(catchPromptopsError(() => renderTemplate(open(50_000), { s: true })).code).toBe('invalid_template');
  });
});

describe('well-formed text', () => {
  const lone = ['\ud800', '\udfff', 'a\udc00b', 'end\ud83d'];

  it('refuses a lone UTF-16 surrogate in any hashed string or key, naming the field', () => {
    for (const text of lone) {
      const issue = refused(textContent(`hi ${text}`), 'template');
      expect(issue.message).toMatch(/lone UTF-16 surrogate/);
      expect(issue.message).toMatch(/U\+D[89A-F][0-9A-F]{2}/);
    }
    refused(chat([{ role: 'user', content: `x${lone[0]}` }]), 'messages[0].content');
    refused(textContent('hi', { slots: { s: lone[2]! } }), 'slots.s');
    refused({ ...textContent('hi'), config: { model: `m${lone[1]}`, params: {} } }, 'config.model');
    refused({ ...textContent('hi'), config: { params: { [`k${lone[0]}`]: 1 } } }, `config.params.k${lone[0]}`);
    refused(
      textContent('{{v}}', { variables: { v: { type: 'string', required: false, description: lone[3] } } } as never),
      'variables.v.description',
    );
  });

  it('accepts surrogate pairs (emoji and other astral characters)', () => {
    const content = validatePromptContent(textContent('Hi 😀 𝒳 {{> s}}', { slots: { s: '🎉' } }));
    expect(content.type).toBe('text');
  });

  it('canonical JSON refuses lone surrogates and non-finite numbers as invalid input, naming where', () => {
    const surrogate = catchPromptopsError(() => canonicalJson({ data: { reason: 'x\ud800' } }));
    expect(surrogate.kind).toBe('invalid');
    expect(surrogate.message).toContain('data.reason');
    const infinite = catchPromptopsError(() => canonicalJson({ ramp: [1, Number.POSITIVE_INFINITY] }));
    expect(infinite.kind).toBe('invalid');
    expect(infinite.message).toContain('ramp[1]');
  });
});
