import { describe, expect, it } from 'vitest';
import { renderPrompt, validatePromptContent } from '../src/index.js';
import { catchPromptopsError, textContent } from './helpers.js';

/** A slot that always includes itself can never render: refused when the version is validated. */

const refusal = (slots: Record<string, string>, template = '{{> a}}') => {
  const error = catchPromptopsError(() => validatePromptContent(textContent(template, { slots })));
  expect(error.code).toBe('invalid_prompt');
  expect(error.kind).toBe('invalid');
  return error;
};

describe('slot cycles', () => {
  it('refuses a slot that includes itself, naming the slot and the cycle', () => {
    const error = refusal({ a: 'x {{> a}} y' });
    expect(error.issues).toEqual([
      { path: 'slots.a', message: expect.stringContaining('a -> a') as unknown as string },
    ]);
    expect(error.message).toContain('slots.a');
    expect(error.message).toMatch(/never finish|can never/);
  });

  it('refuses a cycle through other slots, once, naming every step', () => {
    const error = refusal({ a: '{{> b}}', b: 'text {{> c}}', c: '{{> a}}', d: 'fine' });
    const messages = (error.issues ?? []).map((issue) => issue.message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('a -> b -> c -> a');
    expect(error.issues?.[0]?.path).toBe('slots.a');
  });

  it('refuses a cycle that no template includes (an override could include it)', () => {
    const error = refusal({ a: '{{> b}}', b: '{{> a}}' }, 'no slots used');
    expect(error.message).toContain('a -> b -> a');
  });

  it('reports each separate cycle', () => {
    const error = refusal({ a: '{{> a}}', b: '{{> c}}', c: '{{> b}}' }, '{{> a}}{{> b}}');
    expect((error.issues ?? []).map((issue) => issue.path).sort()).toEqual(['slots.a', 'slots.b']);
  });

  it('accepts recursion that the data can end (inside a section), and acyclic sharing', () => {
    const tree = textContent('{{> node}}', {
      variables: {
        content: { type: 'string', required: true },
        nodes: { type: 'array', required: true },
      },
      slots: { node: '{{content}}<{{#nodes}}{{> node}}{{/nodes}}>' },
    });
    expect(validatePromptContent(tree)).toEqual(tree);
    const rendered = renderPrompt(tree, { content: 'X', nodes: [{ content: 'Y', nodes: [] }] });
    expect(rendered).toEqual({ type: 'text', text: 'X<Y<>>' });

    const guarded = textContent('{{> a}}', {
      variables: { done: { type: 'boolean', required: true } },
      slots: { a: 'once{{^done}}{{> a}}{{/done}}' },
    });
    expect(renderPrompt(validatePromptContent(guarded), { done: true })).toEqual({ type: 'text', text: 'once' });

    const diamond = textContent('{{> a}}', { slots: { a: '{{> b}}{{> c}}', b: '{{> d}}', c: '{{> d}}', d: 'end' } });
    expect(renderPrompt(validatePromptContent(diamond))).toEqual({ type: 'text', text: 'endend' });
  });
});
