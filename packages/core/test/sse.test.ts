import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser, readEventStream, type SseMessage } from '../src/sse.js';

/** Feeds the chunks in order, ends the stream, and returns the messages and `retry` values seen. */
const parse = (chunks: readonly string[]): SseMessage[] => {
  const messages: SseMessage[] = [];
  const parser = new SseParser((message) => messages.push(message));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return messages;
};

const split = (text: string, cuts: readonly number[]): string[] => {
  const points = [...new Set(cuts)].sort((a, b) => a - b);
  const chunks: string[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(text.slice(start, point));
    start = point;
  }
  chunks.push(text.slice(start));
  return chunks;
};

// Every kind of line end, a comment, multi-line data, ids, an event type, a retry and an unknown field.
const SAMPLE =
  'id: 0\r\nevent: ready\r\ndata: {"cursor":0}\r\n\r\n' +
  ': keepalive\n\n' +
  'retry: 2500\rid: 7\revent: label\rdata: {"seq":7}\rdata:  two\r\r' +
  'foo: bar\ndata\ndata: x\r\n\n' +
  'id: 8\r\ndata: last\r\r\n';

const SAMPLE_MESSAGES: SseMessage[] = [
  { event: 'ready', data: '{"cursor":0}', lastEventId: '0' },
  { event: 'label', data: '{"seq":7}\n two', lastEventId: '7' },
  { event: 'message', data: '\nx', lastEventId: '7' },
  { event: 'message', data: 'last', lastEventId: '8' },
];

describe('SSE parser', () => {
  it('parses ids, event types, multi-line data, comments and every line end', () => {
    expect(parse([SAMPLE])).toEqual(SAMPLE_MESSAGES);
  });

  it('reads a CR at the end of a chunk and an LF at the start of the next as one line end', () => {
    expect(parse(['data: a\r', '\ndata: b\r\n\r\n'])).toEqual([{ event: 'message', data: 'a\nb', lastEventId: '' }]);
    expect(parse(['data: a\r', '\n\r', '\ndata: b\r\r'])).toEqual([
      { event: 'message', data: 'a', lastEventId: '' },
      { event: 'message', data: 'b', lastEventId: '' },
    ]);
  });

  it('gives the same messages at every split point of a stream, into any number of chunks', () => {
    for (let point = 0; point <= SAMPLE.length; point += 1) {
      expect(parse(split(SAMPLE, [point]))).toEqual(SAMPLE_MESSAGES);
    }
    fc.assert(
      fc.property(fc.array(fc.nat({ max: SAMPLE.length }), { maxLength: 12 }), (cuts) => {
        expect(parse(split(SAMPLE, cuts))).toEqual(SAMPLE_MESSAGES);
      }),
    );
  });

  it('joins multi-line data, strips one leading space and a BOM, ignores unknown fields', () => {
    expect(parse(['\uFEFFdata:one\ndata:  two\nfoo: bar\ndata\n\n'])).toEqual([
      { event: 'message', data: 'one\n two\n', lastEventId: '' },
    ]);
  });

  it('dispatches an empty data line, but not an event without data, nor an incomplete one at the end', () => {
    expect(parse(['data:\n\n'])).toEqual([{ event: 'message', data: '', lastEventId: '' }]);
    expect(parse(['event: ready\n\nid: 3\n\ndata: half'])).toEqual([]);
  });

  it('keeps the last id across events, and ignores ids with NUL', () => {
    expect(parse(['id: 5\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n']).map((m) => m.lastEventId)).toEqual([
      '5',
      '5',
      '5',
    ]);
  });

  it('reports a retry of digits only', () => {
    const retries: number[] = [];
    const parser = new SseParser(
      () => undefined,
      (ms) => retries.push(ms),
    );
    parser.push('retry: 2500\nretry: 1e3\nretry: -1\nretry:\nretry: 10\n');
    expect(retries).toEqual([2500, 10]);
  });

  it('reads a fetch body through the parser, decoding UTF-8 split inside a character', async () => {
    const bytes = new TextEncoder().encode('data: é🙂\r\n\r\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(Uint8Array.of(byte));
        controller.close();
      },
    });
    const messages: SseMessage[] = [];
    let chunks = 0;
    await readEventStream(body, new SseParser((message) => messages.push(message)), () => (chunks += 1));
    expect(messages).toEqual([{ event: 'message', data: 'é🙂', lastEventId: '' }]);
    expect(chunks).toBe(bytes.length);
  });
});
