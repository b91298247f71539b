import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PromptopsError,
  canonicalJson,
  contentSha,
  effectivePrompt,
  orphanedSlots,
  overrideSha,
  parseOverride,
  promptSha,
  type PromptContent,
  type PromptOverride,
} from '../src/index.js';
import { promptContentArb, shuffleKeys, seededRandom, textArb } from './arbitraries.js';

const base: PromptContent = {
  name: 'greeter',
  type: 'text',
  config: { model: 'gpt-4o-mini', params: { temperature: 0.2 } },
  variables: { user: { type: 'string', required: true }, tone: { type: 'string', required: false, default: 'warm' } },
  slots: { greeting: 'Hello', closing: 'Bye' },
  template: '{{> greeting}} {{user}}, {{tone}}. {{> closing}}',
};

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptopsError) return error.code;
    throw error;
  }
  throw new Error('nothing thrown');
};

/** A prompt and an override of some of its slots, variables and params. */
const promptAndOverride = promptContentArb().chain((content) =>
  fc
    .record({
      slots: fc
        .subarray(Object.keys(content.slots))
        .chain((names) =>
          fc.tuple(...names.map((n) => textArb().map((t) => [n, t] as const))).map((e) => Object.fromEntries(e)),
        ),
      variables: fc
        .subarray(Object.keys(content.variables))
        .map((names) => Object.fromEntries(names.map((n) => [n, 'x']))),
      params: fc.record(
        {
          temperature: fc.integer({ min: 0, max: 20 }).map((t) => t / 10),
          maxTokens: fc.integer({ min: 1, max: 4096 }),
        },
        { requiredKeys: [] },
      ),
    })
    .map((override) => [content, parseOverride(override)] as const),
);

describe('tenant overrides: the effective prompt', () => {
  it('applies slots, variable defaults and params, and reports the three shas', () => {
    const override = parseOverride({
      slots: { greeting: 'Good day' },
      variables: { tone: 'formal' },
      params: { temperature: 0, maxTokens: 99, model: 'gpt-4o' },
    });
    const e = effectivePrompt(base, override);
    expect(e.content.slots).toEqual({ greeting: 'Good day', closing: 'Bye' });
    expect(e.content.variables.tone).toEqual({ type: 'string', required: false, default: 'formal' });
    expect(e.content.config).toEqual({ model: 'gpt-4o', params: { temperature: 0, max_tokens: 99 } });
    expect(e.baseSha).toBe(promptSha(base));
    expect(e.sha).toBe(promptSha(e.content));
    expect(e.sha).not.toBe(e.baseSha);
    expect(e.overrideSha).toBe(overrideSha(override));
    expect(base.slots.greeting).toBe('Hello');
  });

  it('refuses a slot the prompt lacks, listing the slots it has', () => {
    const error = (() => {
      try {
        effectivePrompt(base, parseOverride({ slots: { greting: 'Hi' } }));
      } catch (e) {
        return e as PromptopsError;
      }
      throw new Error('accepted');
    })();
    expect(error.code).toBe('override_unknown_slot');
    expect(error.message).toContain("'greting'");
    expect(error.message).toContain('closing, greeting');
    expect(error.details).toMatchObject({ missing: ['greting'], slots: ['closing', 'greeting'] });
  });

  it('refuses anything else: unknown fields, unknown variables, bad params, non-text slots', () => {
    expect(codeOf(() => parseOverride({ template: 'x' }))).toBe('invalid_override');
    expect(codeOf(() => parseOverride({ params: { top_p: 1 } }))).toBe('invalid_override');
    expect(codeOf(() => parseOverride({ params: { temperature: 'hot' } }))).toBe('invalid_override');
    expect(codeOf(() => parseOverride({ params: { maxTokens: 1.5 } }))).toBe('invalid_override');
    expect(codeOf(() => parseOverride({ slots: { greeting: 3 } }))).toBe('invalid_override');
    expect(codeOf(() => parseOverride(JSON.parse('{"slots":{"__proto__":"x"}}')))).toBe('invalid_override');
    expect(codeOf(() => effectivePrompt(base, parseOverride({ variables: { mood: 'x' } })))).toBe('invalid_override');
    expect(() => parseOverride({ params: { top_p: 1 } })).toThrow(/params.temperature, params.maxTokens, params.model/);
  });

  it('names the tenants a base change would orphan', () => {
    const next: PromptContent = { ...base, slots: { closing: 'Bye' } };
    expect(orphanedSlots(next, { acme: { slots: { greeting: 'x' } }, globex: { params: { temperature: 1 } } })).toEqual(
      {
        acme: ['greeting'],
      },
    );
  });
});

describe('tenant overrides: properties', () => {
  it('an empty override gives the base sha', () => {
    fc.assert(
      fc.property(
        promptContentArb(),
        fc.constantFrom({}, { slots: {} }, { variables: {}, params: {} }),
        (content, empty) => {
          const e = effectivePrompt(content, parseOverride(empty));
          expect(e.sha).toBe(promptSha(content));
          expect(e.baseSha).toBe(promptSha(content));
          expect(e.overrideSha).toBe(contentSha({}));
        },
      ),
    );
  });

  it('the effective sha is a function of the effective content only', () => {
    fc.assert(
      fc.property(promptAndOverride, promptAndOverride, fc.integer(), ([c1, o1], [c2, o2], seed) => {
        const a = effectivePrompt(c1, o1);
        const b = effectivePrompt(c2, o2);
        expect(a.sha).toBe(contentSha(a.content));
        // Key order never matters; equal content means an equal sha, different content a different one.
        expect(contentSha(shuffleKeys(a.content, seededRandom(seed)))).toBe(a.sha);
        expect(a.sha === b.sha).toBe(canonicalJson(a.content) === canonicalJson(b.content));
      }),
    );
  });

  it('an override that restates the base values gives the base sha (the override sha differs)', () => {
    fc.assert(
      fc.property(promptContentArb(), (content) => {
        const e = effectivePrompt(content, parseOverride({ slots: { ...content.slots } }));
        expect(e.sha).toBe(promptSha(content));
      }),
    );
  });

  it('the override sha ignores key order and empty sections', () => {
    const o: PromptOverride = { slots: { b: '2', a: '1' }, params: { temperature: 1 } };
    expect(overrideSha(parseOverride({ params: { temperature: 1 }, variables: {}, slots: { a: '1', b: '2' } }))).toBe(
      overrideSha(o),
    );
  });
});
