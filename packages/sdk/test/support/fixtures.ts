import { promptSha, type PromptContent } from '@promptops/core';

/** Prompt contents for tests and the benchmark, already in the hashed (normalized) shape. */

const MODEL = { provider: 'openai', model: 'gpt-4o-mini', params: { temperature: 0.2 } };

/** The design's greeter, padded to about 1 KB of chat prompt. */
export const greeter = (revision = 17, name = 'customer_support_greeter'): PromptContent => ({
  name,
  type: 'chat',
  config: MODEL,
  variables: {
    user_name: { type: 'string', required: true },
    question: { type: 'string', required: true },
  },
  slots: {},
  messages: [
    {
      role: 'system',
      content: [
        `You are a helpful support agent (revision ${revision}).`,
        revision === 18 ? '' : 'Always greet the user by name.',
        'Answer politely, precisely and briefly; never invent order numbers, prices, dates or policies.',
        'If you do not know the answer, say so and offer to connect the customer with a human colleague.',
        'Keep personal data out of your answer unless the customer wrote it in this conversation first.',
        'Prefer short paragraphs and numbered steps for instructions; avoid jargon and internal names.',
        'When the customer is upset, acknowledge the problem before you explain what can be done next.',
        'Never promise refunds or compensation: explain the process and who decides instead.',
        'Always end with "Is there anything else I can help with?"',
      ]
        .filter((line) => line !== '')
        .join('\n'),
    },
    { role: 'user', content: '{{user_name}} asks: {{question}}' },
  ],
});

export const textPrompt = (name: string, template: string): PromptContent => ({
  name,
  type: 'text',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { max_tokens: 200 } },
  variables: { question: { type: 'string', required: true } },
  slots: {},
  template,
});

export const versionOf = (content: PromptContent, version: number) => ({ version, sha: promptSha(content), content });
