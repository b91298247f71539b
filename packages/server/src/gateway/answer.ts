import { SseParser } from '@promptops/core/sse';

/**
 * What a trace records of an upstream answer, read from a copy of its bytes after it was sent: the
 * output text, the token counts of `usage` (a stream has them only when the caller asked for
 * `stream_options.include_usage`: the gateway does not change the request to get them), the model, and
 * for an error status its message.
 */

export interface AnswerSummary {
  readonly output: string | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly model: string | null;
  readonly error: string | null;
}

interface Usage {
  readonly prompt_tokens?: unknown;
  readonly completion_tokens?: unknown;
}

const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;

const parse = (text: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

const firstChoice = (answer: Record<string, unknown>): Record<string, unknown> | undefined => {
  const choices = answer['choices'];
  return Array.isArray(choices) && typeof choices[0] === 'object' && choices[0] !== null
    ? (choices[0] as Record<string, unknown>)
    : undefined;
};

const errorText = (status: number, text: string): string => {
  const message = (parse(text)?.['error'] as { message?: unknown } | undefined)?.message;
  return `upstream answered ${status}: ${typeof message === 'string' ? message : text.slice(0, 500)}`;
};

export const summarizeAnswer = (status: number, contentType: string, bytes: Buffer): AnswerSummary => {
  const text = bytes.toString('utf8');
  if (status >= 400) {
    return { output: null, inputTokens: null, outputTokens: null, model: null, error: errorText(status, text) };
  }
  if (!contentType.startsWith('text/event-stream')) {
    const answer = parse(text);
    const message = answer === undefined ? undefined : firstChoice(answer)?.['message'];
    const content = (message as { content?: unknown } | undefined)?.content;
    const usage = (answer?.['usage'] ?? {}) as Usage;
    return {
      output: typeof content === 'string' ? content : null,
      inputTokens: count(usage.prompt_tokens),
      outputTokens: count(usage.completion_tokens),
      model: typeof answer?.['model'] === 'string' ? answer['model'] : null,
      error: answer === undefined ? 'the upstream answer is not JSON' : null,
    };
  }
  let output = '';
  let usage: Usage = {};
  let model: string | null = null;
  let error: string | null = null;
  const parser = new SseParser((message) => {
    if (message.data === '[DONE]') return;
    const chunk = parse(message.data);
    if (chunk === undefined) return;
    if (typeof chunk['model'] === 'string') model = chunk['model'];
    if (typeof chunk['usage'] === 'object' && chunk['usage'] !== null) usage = chunk['usage'] as Usage;
    const failure = (chunk['error'] as { message?: unknown } | undefined)?.message;
    if (typeof failure === 'string') error = `upstream stream error: ${failure}`;
    const delta = firstChoice(chunk)?.['delta'] as { content?: unknown } | undefined;
    if (typeof delta?.content === 'string') output += delta.content;
  });
  parser.push(text);
  parser.end();
  return {
    output,
    inputTokens: count(usage.prompt_tokens),
    outputTokens: count(usage.completion_tokens),
    model,
    error,
  };
};
