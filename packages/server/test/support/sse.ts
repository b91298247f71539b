/**
 * A minimal Server-Sent Events client over fetch, for tests: it parses the stream itself (as the SDK
 * must in runtimes without EventSource) and lets a test wait for messages.
 */

export interface SseMessage {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  /** When the message was parsed (performance.now()). */
  readonly at: number;
}

export interface SseClient {
  readonly status: number;
  readonly headers: Headers;
  readonly messages: SseMessage[];
  readonly comments: string[];
  /** Messages of one event type, data parsed as JSON. */
  parsed<T = Record<string, unknown>>(event: string): T[];
  /**
   * Resolves once `condition` holds (checked on every message and comment), or rejects after `timeoutMs`:
   * a generous deadline that only turns a hang into a readable failure.
   */
  until(condition: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Parses one event block (lines between blank lines) per the SSE spec's field rules. */
const parseBlock = (block: string): { message?: Omit<SseMessage, 'at'>; comment?: string } => {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  let comment: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return comment === undefined ? {} : { comment };
  return { message: { id, event, data: data.join('\n') } };
};

export const openSse = async (url: string, headers: Record<string, string>): Promise<SseClient> => {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((waiter) => waiter());

  let reading = Promise.resolve();
  if (response.ok && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    reading = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replaceAll('\r\n', '\n');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const { message, comment } = parseBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (message) messages.push({ ...message, at: performance.now() });
            if (comment !== undefined) comments.push(comment);
            notify();
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
  }

  return {
    status: response.status,
    headers: response.headers,
    messages,
    comments,
    parsed: <T>(event: string) => messages.filter((m) => m.event === event).map((m) => JSON.parse(m.data) as T),
    until: (condition, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if (condition()) return resolve();
        const check = (): void => {
          if (!condition()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `SSE condition not met in ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => [m.id, m.event]))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      }),
    close: async () => {
      abort.abort();
      if (!response.ok) await response.body?.cancel().catch(() => undefined);
      await reading;
    },
  };
};
