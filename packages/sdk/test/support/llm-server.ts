import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A tiny server speaking the chat-completions protocol, for the official `openai` client: a completion
 * with usage (or an SSE stream of chunks), or, when told, a 500, a 429, or no answer at all (to pass the
 * client's timeout). Every request body is kept, with the usage it was answered with.
 */

export type LlmMode = 'ok' | 500 | 429 | 'hang';

interface ChatMessage {
  role: string;
  content: string;
}

export interface LlmRequest {
  readonly body: { model: string; messages: ChatMessage[]; stream?: boolean; [key: string]: unknown };
  readonly answer: string | null;
  readonly usage: { prompt_tokens: number; completion_tokens: number } | null;
}

export interface LlmServer {
  /** The base URL for `new OpenAI({ baseURL })`. */
  readonly baseURL: string;
  mode: LlmMode;
  readonly requests: LlmRequest[];
  close(): Promise<void>;
}

/** The reply: deterministic from the last message, so tests know the expected output. */
export const replyTo = (messages: readonly ChatMessage[]): string =>
  `Hello! You said: ${messages.at(-1)?.content ?? ''}`;

const tokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export const startLlmServer = async (): Promise<LlmServer> => {
  const sockets = new Set<Socket>();
  const state: LlmServer = {
    baseURL: '',
    mode: 'ok',
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const respond = (request: IncomingMessage, response: ServerResponse, raw: string): void => {
    const body = JSON.parse(raw) as LlmRequest['body'];
    const mode = state.mode;
    if (request.url !== '/v1/chat/completions') {
      response.writeHead(404).end();
      return;
    }
    if (mode === 'hang') {
      state.requests.push({ body, answer: null, usage: null });
      return; // never answers; the client's timeout (or abort) ends it
    }
    if (mode === 500 || mode === 429) {
      state.requests.push({ body, answer: null, usage: null });
      const headers = { 'content-type': 'application/json', ...(mode === 429 ? { 'retry-after': '0' } : {}) };
      response.writeHead(mode, headers).end(
        JSON.stringify({
          error: { message: mode === 500 ? 'the model crashed' : 'rate limited', type: 'server_error', code: null },
        }),
      );
      return;
    }
    const answer = replyTo(body.messages);
    const usage = {
      prompt_tokens: tokens(body.messages.map((message) => message.content).join('\n')),
      completion_tokens: tokens(answer),
    };
    state.requests.push({ body, answer, usage });
    const id = `chatcmpl-${state.requests.length}`;
    const model = `${body.model}-2024-07-18`;
    if (body.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const words = answer.split(/(?<= )/);
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model, choices, ...extra })}\n\n`;
      response.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
      for (const word of words) response.write(chunk([{ index: 0, delta: { content: word }, finish_reason: null }]));
      response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      const options = body['stream_options'] as { include_usage?: boolean } | undefined;
      if (options?.include_usage === true) {
        response.write(chunk([], { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }));
      }
      response.end('data: [DONE]\n\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: answer } }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  };

  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => respond(request, response, raw));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { baseURL: `http://127.0.0.1:${port}/v1` });
};
