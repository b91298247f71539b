import { randomUUID } from 'node:crypto';
import { SIMULATED_MODEL, type ChatMessage, type MessageRole } from '@promptops/core';
import { simulateAnswer } from '@promptops/evals';

/**
 * The `simulated` provider behind the gateway: the evals' deterministic stand-in (`simulateAnswer`) in
 * OpenAI's chat completion shape, a JSON answer or an SSE stream of chunks ending in `[DONE]`, so the demo
 * and the tests run with no network and no key.
 */

const ROLES: readonly string[] = ['system', 'developer', 'user', 'assistant'];

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content
          .map((part) => (typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
          .join('')
      : '';

const tokens = (text: string): number => Math.ceil(text.length / 4);

export const simulatedAnswer = (
  request: Readonly<Record<string, unknown>>,
  variables: Readonly<Record<string, unknown>>,
): { contentType: string; chunks: Buffer[] } => {
  const messages: ChatMessage[] = (Array.isArray(request['messages']) ? request['messages'] : [])
    .map((m) => m as { role?: unknown; content?: unknown })
    .filter((m) => typeof m.role === 'string' && ROLES.includes(m.role))
    .map((m) => ({ role: m.role as MessageRole, content: textOf(m.content) }));
  const output = simulateAnswer({ type: 'chat', messages }, variables);
  const id = `chatcmpl-sim-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  // Never another model's name: the answer says it is simulated, whichever model the prompt names.
  const model = SIMULATED_MODEL;
  const usage = {
    prompt_tokens: tokens(messages.map((m) => m.content).join('\n')),
    completion_tokens: tokens(output),
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if (request['stream'] !== true) {
    const body = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: output, refusal: null }, finish_reason: 'stop' }],
      usage,
    };
    return { contentType: 'application/json', chunks: [Buffer.from(JSON.stringify(body))] };
  }
  const chunk = (delta: object, finish: string | null): Buffer =>
    Buffer.from(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
    );
  const words = output.split(/(?<= )/);
  const options = request['stream_options'] as { include_usage?: unknown } | undefined;
  const chunks = [
    chunk({ role: 'assistant', content: '' }, null),
    ...words.map((word) => chunk({ content: word }, null)),
    chunk({}, 'stop'),
    ...(options?.include_usage === true
      ? [
          Buffer.from(
            `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
          ),
        ]
      : []),
    Buffer.from('data: [DONE]\n\n'),
  ];
  return { contentType: 'text/event-stream', chunks };
};
