import { effectivePrompt, faq, greeter, outcome, parseOverride, type PromptContent } from './common.js';

const withSlots = (content: PromptContent, slots: Record<string, string>): PromptContent => ({ ...content, slots });

const templated = (): PromptContent => ({
  ...withSlots(faq('Answer'), { tone: 'Be brief.', sign_off: 'Thanks!' }),
  template: '{{> tone}} Answer: {{question}} {{> sign_off}}',
  variables: { question: { type: 'string', required: true }, lang: { type: 'string', required: false, default: 'en' } },
});

/** [vector name, base content, override as JSON text]. */
const CASES: readonly (readonly [string, PromptContent, string])[] = [
  ['an empty override gives the base', templated(), '{}'],
  ['empty sections are an empty override', templated(), '{"slots":{},"variables":{},"params":{}}'],
  ['one slot replaced', templated(), '{"slots":{"tone":"Be formal."}}'],
  ['a slot restated as the base: base sha, an override sha', templated(), '{"slots":{"tone":"Be brief."}}'],
  ['a variable default', templated(), '{"variables":{"lang":"de"}}'],
  ['a default for a required variable', templated(), '{"variables":{"question":"What now?"}}'],
  [
    'params: temperature, maxTokens (max_tokens), model',
    greeter(17),
    '{"params":{"temperature":0,"maxTokens":256,"model":"gpt-4o"}}',
  ],
  [
    'key order does not change the override sha',
    templated(),
    '{"variables":{"lang":"fr"},"slots":{"sign_off":"Merci","tone":"Sois bref."}}',
  ],
  ['non-ASCII slot text', templated(), '{"slots":{"tone":"Sei kurz und höflich 🙂"}}'],
];

const REFUSED: readonly (readonly [string, PromptContent, string])[] = [
  ['a slot the prompt lacks', templated(), '{"slots":{"greeting":"Hi"}}'],
  ['a slot on a prompt without slots', greeter(17), '{"slots":{"tone":"x"}}'],
  ['a variable the prompt does not declare', templated(), '{"variables":{"mood":"x"}}'],
  ['an unknown field', templated(), '{"template":"x"}'],
  ['an unknown param', templated(), '{"params":{"top_p":0.5}}'],
  ['a temperature out of range', templated(), '{"params":{"temperature":3}}'],
  ['maxTokens not an integer', templated(), '{"params":{"maxTokens":1.5}}'],
  ['a slot that is not text', templated(), '{"slots":{"tone":3}}'],
  ['a __proto__ key', templated(), '{"slots":{"__proto__":"x"}}'],
  ['an override that is not an object', templated(), '[]'],
];

export const OVERRIDES_FILE = () => ({
  description:
    'Tenant overrides (packages/core/src/overrides.ts). `effective`: parseOverride(JSON.parse(override)) then effectivePrompt(base, override): the base with slots replaced, variable defaults set and params patched (temperature -> config.params.temperature, maxTokens -> config.params.max_tokens, model -> config.model); `sha` is the sha of the canonical effective content (the base sha when nothing changes), `overrideSha` the sha of the canonical override after dropping empty sections. `refused`: the error code (override_unknown_slot for a slot the prompt lacks, invalid_override for anything else).',
  effective: CASES.map(([name, base, override]) => {
    const result = effectivePrompt(base, parseOverride(JSON.parse(override)));
    return { name, base, override, expected: result };
  }),
  refused: REFUSED.map(([name, base, override]) => {
    const result = outcome(() => effectivePrompt(base, parseOverride(JSON.parse(override))));
    if (result.error === undefined) throw new Error(`override ${override} was accepted`);
    return { name, base, override, error: result.error };
  }),
});
