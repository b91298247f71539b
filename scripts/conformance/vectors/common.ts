import { PromptopsError, type PromptContent } from '../../../packages/core/src/index.js';

export * from '../../../packages/core/src/index.js';

/** A vector's expected failure: the PromptopsError code core throws. Anything else is a generator bug. */
export interface ExpectedError {
  readonly code: string;
}

/** Runs `fn`: its value as `{ value }`, or the PromptopsError it throws as `{ error: { code } }`. */
export const outcome = <T>(
  fn: () => T,
): { value: T; error?: undefined } | { value?: undefined; error: ExpectedError } => {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    return { error: { code: error.code } };
  }
};

/** The demo's greeter, v17 ("Always greet the user by name") and v18 (the line removed). */
export const greeter = (revision: 17 | 18 | 19): PromptContent => ({
  name: 'customer_support_greeter',
  type: 'chat',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2 } },
  variables: {
    user_name: { type: 'string', required: true },
    question: { type: 'string', required: true },
  },
  slots: {},
  messages: [
    {
      role: 'system',
      content: [
        'You are a helpful support agent.',
        ...(revision === 18 ? [] : ['Always greet the user by name.']),
        ...(revision === 19 ? ['Answer in the language of the question.'] : []),
        'Always end with "Is there anything else I can help with?"',
      ].join('\n'),
    },
    { role: 'user', content: '{{user_name}} asks: {{question}}' },
  ],
});

export const faq = (answer: string): PromptContent => ({
  name: 'support/faq',
  type: 'text',
  config: { params: {} },
  variables: { question: { type: 'string', required: true } },
  slots: { tone: 'Be brief.' },
  template: `{{> tone}} ${answer}: {{question}}`,
});

/** `text` with `from` replaced by `to`; throws when `from` is absent, so a vector cannot silently lose its edit. */
export const edit = (text: string, from: string, to: string): string => {
  if (!text.includes(from)) throw new Error(`vector edit: '${from}' not found`);
  return text.replace(from, to);
};
