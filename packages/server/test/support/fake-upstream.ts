import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for an OpenAI-compatible provider (`POST /v1/chat/completions`), for the gateway's
 * tests and benchmark: a JSON answer, or an SSE stream of chunks ending in `data: [DONE]` when the request
 * says `stream: true`. The answer's text is `echo: ` and the last message's content. `script` holds
 * answers to give first (an error status, say), one per request; `delayMs` holds every answer back.
 */

export interface ScriptedAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FakeUpstream {
  readonly url: string;
  /** Requests received, in order. */
  readonly requests: { body: Record<string, unknown>; headers: IncomingHttpHeaders }[];
  readonly script: ScriptedAnswer[];
  /** While set, answers wait for it (a test holds an upstream call open). */
  hold: Promise<void> | undefined;
  close(): Promise<void>;
}

export const FAKE_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

const lastContent = (body: Record<string, unknown>): string => {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as { content?: unknown }[]) : [];
  const content = messages.at(-1)?.content;
  return typeof content === 'string' ? content : '';
};

export const startFakeUpstream = async (
  options: { delayMs?: number; record?: boolean } = {},
): Promise<FakeUpstream> => {
  const requests: FakeUpstream['requests'] = [];
  const script: ScriptedAnswer[] = [];
  const fake: { -readonly [K in keyof FakeUpstream]: FakeUpstream[K] } = {
    url: '',
    requests,
    script,
    hold: undefined,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      if (options.record !== false) requests.push({ body, headers: request.headers });
      const answer = (): void => {
        const scripted = script.shift();
        if (scripted !== undefined) {
          response.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
          response.end(JSON.stringify(scripted.body));
          return;
        }
        const id = 'chatcmpl-fake';
        const model = typeof body['model'] === 'string' ? body['model'] : 'fake-model';
        const text = `echo: ${lastContent(body)}`;
        if (body['stream'] !== true) {
          response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_fake' });
          response.end(
            JSON.stringify({
              id,
              object: 'chat.completion',
              created: 1,
              model,
              choices: [
                { index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop' },
              ],
              usage: FAKE_USAGE,
            }),
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_fake' });
        const chunk = (delta: object, finish: string | null): string =>
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        const third = Math.ceil(text.length / 3);
        response.write(chunk({ role: 'assistant', content: '' }, null));
        for (let at = 0; at < text.length; at += third)
          response.write(chunk({ content: text.slice(at, at + third) }, null));
        response.write(chunk({}, 'stop'));
        const streamOptions = body['stream_options'] as { include_usage?: boolean } | undefined;
        if (streamOptions?.include_usage === true) {
          response.write(
            `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model, choices: [], usage: FAKE_USAGE })}\n\n`,
          );
        }
        response.end('data: [DONE]\n\n');
      };
      const held = fake.hold;
      if (held !== undefined) void held.then(answer);
      else if (options.delayMs === undefined || options.delayMs <= 0) answer();
      else setTimeout(answer, options.delayMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
};
