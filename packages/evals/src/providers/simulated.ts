import { SIMULATED_MODEL, sha256Hex, type EvalProviderConfig, type RenderedPrompt } from '@promptops/core';
import type { Provider, ProviderRequest } from './types.js';

/**
 * `simulated`: a deterministic stand-in for a model, for offline demos and tests. It is not a model and
 * never claims to be one (its model name is `simulated-1`). It reads the instructions (system and
 * developer messages; the whole text of a text prompt) and follows four patterns:
 *
 * - "greet the user by name" (also "greet them/the customer by (their) name"): starts with
 *   `Hello, <name>!`, the name being the first of the case variables `user_name`, `name`, `first_name`,
 *   `customer_name`, `username` that is set; otherwise it starts with `Hello!`.
 * - `Always end with "<phrase>"` (also `end every answer with "…"`): ends with the phrase.
 * - "respond/answer/reply in JSON" (or "as JSON", "only JSON"): answers with one JSON object
 *   `{ "greeting", "answer", "closing" }` (only the parts that apply).
 * - "at most / no more than / under / fewer than N words": keeps the whole answer within N words, by
 *   shortening the middle first.
 *
 * The middle of the answer repeats the question (the `question` variable, else the last user message)
 * and adds one of a few fixed sentences chosen by a hash of it. Same input, same output, always; the
 * reported latency is always 0 ms, so runs (and the drift reports over them) are reproducible.
 */

const GREET_BY_NAME =
  /\bgreet\s+(?:the\s+(?:user|customer|person)|them|users|customers)\s+by\s+(?:their\s+)?(?:first\s+)?name\b/i;
const END_WITH =
  /\bend\s+(?:every\s+(?:answer|reply|response)\s+|each\s+(?:answer|reply|response)\s+)?with\s*:?\s*["“]([^"”]+)["”]/i;
const JSON_MODE =
  /\b(?:(?:respond|answer|reply|output)\s+(?:only\s+)?(?:in|as|with)\s+(?:a\s+)?(?:valid\s+)?JSON|only\s+JSON|JSON\s+only)\b/i;
const WORD_LIMIT =
  /\b(?:at\s+most|no\s+more\s+than|under|fewer\s+than|less\s+than|maximum\s+of|max(?:imum)?)\s+(\d+)\s+words\b/i;

const NAME_VARS = ['user_name', 'name', 'first_name', 'customer_name', 'username'] as const;

const ANSWERS = [
  'Here is what I suggest: open your account settings and follow the steps shown there.',
  'The quickest way is to follow the guide in the help center; it takes a few minutes.',
  'I have looked into it, and the steps in your account page should solve it.',
  'You can sort this out from the support page; the instructions there cover this case.',
] as const;

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

const instructionsOf = (prompt: RenderedPrompt): string =>
  prompt.type === 'text'
    ? prompt.text
    : prompt.messages
        .filter((m) => m.role === 'system' || m.role === 'developer')
        .map((m) => m.content)
        .join('\n');

const questionOf = (prompt: RenderedPrompt, vars: Readonly<Record<string, unknown>>): string => {
  if (typeof vars.question === 'string' && vars.question.trim() !== '') return vars.question.trim();
  if (prompt.type === 'text') return prompt.text.trim().split('\n').at(-1) ?? '';
  const users = prompt.messages.filter((m) => m.role === 'user');
  return users.at(-1)?.content.trim() ?? '';
};

const nameOf = (vars: Readonly<Record<string, unknown>>): string | undefined => {
  for (const key of NAME_VARS) {
    const value = vars[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
};

/** The simulated answer to a rendered prompt (pure). */
export const simulateAnswer = (prompt: RenderedPrompt, vars: Readonly<Record<string, unknown>> = {}): string => {
  const instructions = instructionsOf(prompt);
  const name = GREET_BY_NAME.test(instructions) ? nameOf(vars) : undefined;
  const greeting = name === undefined ? 'Hello!' : `Hello, ${name}!`;
  const closing = END_WITH.exec(instructions)?.[1]?.trim();
  const question = questionOf(prompt, vars);
  const pick = ANSWERS[Number.parseInt(sha256Hex(question).slice(0, 8), 16) % ANSWERS.length] ?? ANSWERS[0];
  let answer = question === '' ? pick : `Thanks for your question about "${question}". ${pick}`;
  const limit = Number(WORD_LIMIT.exec(instructions)?.[1] ?? Number.NaN);
  if (Number.isFinite(limit)) {
    const fixed = words(greeting).length + (closing === undefined ? 0 : words(closing).length);
    answer = words(answer)
      .slice(0, Math.max(0, limit - fixed))
      .join(' ');
  }
  if (JSON_MODE.test(instructions)) {
    return JSON.stringify({ greeting, answer, ...(closing === undefined ? {} : { closing }) });
  }
  const text = [greeting, answer, closing].filter((part) => part !== undefined && part !== '').join(' ');
  return Number.isFinite(limit) ? words(text).slice(0, limit).join(' ') : text;
};

const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export const createSimulatedProvider = (config: EvalProviderConfig): Provider => ({
  config: { ...config, model: config.model === '' ? SIMULATED_MODEL : config.model },
  complete(request: ProviderRequest) {
    const output = simulateAnswer(request.prompt, request.vars);
    const input =
      request.prompt.type === 'text' ? request.prompt.text : request.prompt.messages.map((m) => m.content).join('\n');
    return Promise.resolve({
      output,
      usage: { inputTokens: estimateTokens(input), outputTokens: estimateTokens(output) },
      // Not a wall-clock reading: a simulated call takes no time, and a timing would make runs differ.
      latencyMs: 0,
    });
  },
});
