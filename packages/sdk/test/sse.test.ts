import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../src/sse.js';

const parse = (chunks: readonly string[]): SseMessage[] => {
  const messages: SseMessage[] = [];
  const parser = new SseParser((message) => messages.push(message));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return messages;
};

describe('SSE parser', () => {
  const stream = 'id: 0\nevent: ready\ndata: {"cursor":0}\n\n: keepalive\n\nid: 7\nevent: label\ndata: {"seq":7}\n\n';

  it('parses events with ids, types and data, and skips comments', () => {
    expect(parse([stream])).toEqual([
      { event: 'ready', data: '{"cursor":0}', lastEventId: '0' },
      { event: 'label', data: '{"seq":7}', lastEventId: '7' },
    ]);
  });

  it('gives the same result however the stream is split into chunks', () => {
    const expected = parse([stream]);
    for (let size = 1; size <= 7; size += 1) {
      const chunks: string[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(parse(chunks)).toEqual(expected);
    }
  });

  it('accepts CRLF and CR line ends, even with CRLF split across chunks', () => {
    expect(parse(['data: a\r', '\n\r\ndata: b\r\r'])).toEqual([
      { event: 'message', data: 'a', lastEventId: '' },
      { event: 'message', data: 'b', lastEventId: '' },
    ]);
  });

  it('joins multi-line data, strips one leading space and a BOM, ignores unknown fields', () => {
    expect(parse(['\uFEFFdata:one\ndata:  two\nfoo: bar\ndata\n\n'])).toEqual([
      { event: 'message', data: 'one\n two\n', lastEventId: '' },
    ]);
  });

  it('does not dispatch an event without data, nor an incomplete one at the end', () => {
    expect(parse(['event: ready\n\nid: 3\n\ndata: half'])).toEqual([]);
  });

  it('keeps the last id across events, and ignores ids with NUL', () => {
    expect(parse(['id: 5\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n']).map((m) => m.lastEventId)).toEqual([
      '5',
      '5',
      '5',
    ]);
  });
});
