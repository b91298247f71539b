/**
 * `@promptops/core/sse`: a Server-Sent Events parser (the WHATWG "event stream interpretation"), fed
 * with text chunks as they arrive from a fetch body; the SDK, the CLI and the dashboard share it. No
 * EventSource: it is not in Node 20, and it cannot send an Authorization header (the key must not
 * travel in a URL).
 */

export interface SseMessage {
  /** The `event:` field; `message` when absent. */
  readonly event: string;
  readonly data: string;
  /** The last event id seen on this stream (ids persist across messages, per the spec). */
  readonly lastEventId: string;
}

export class SseParser {
  private buffer = '';
  private data = '';
  private hasData = false;
  private event = '';
  private lastEventId = '';
  private started = false;

  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onRetry?: (ms: number) => void,
  ) {}

  /** Feeds decoded text; dispatches every message completed by it. */
  push(text: string): void {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    const buffer = this.buffer;
    for (;;) {
      let end = start;
      while (end < buffer.length && buffer[end] !== '\n' && buffer[end] !== '\r') end += 1;
      if (end >= buffer.length) break;
      // A CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (buffer[end] === '\r' && end + 1 >= buffer.length) break;
      this.line(buffer.slice(start, end));
      start = end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.buffer = buffer.slice(start);
  }

  /** The stream ended: a trailing CR ends its line; an incomplete message is discarded (spec). */
  end(): void {
    if (this.buffer.endsWith('\r')) this.line(this.buffer.slice(0, -1));
    this.buffer = '';
    this.data = '';
    this.hasData = false;
    this.event = '';
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 0x3a /* ':' comment, e.g. keepalive */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const hasData = this.hasData;
    const message: SseMessage = { event: this.event || 'message', data: this.data, lastEventId: this.lastEventId };
    this.data = '';
    this.hasData = false;
    this.event = '';
    if (hasData) this.onMessage(message);
  }
}

/**
 * Reads a fetch body to its end through the parser. `onChunk` runs for every chunk (the idle watchdog
 * counts keepalive comments as life). Rejects when the body errors or is aborted.
 */
export const readEventStream = async (
  body: ReadableStream<Uint8Array>,
  parser: SseParser,
  onChunk: () => void,
  afterChunk?: () => Promise<void> | undefined,
): Promise<void> => {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onChunk();
      parser.push(decoder.decode(value, { stream: true }));
      const pending = afterChunk?.();
      if (pending !== undefined) await pending;
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
};
