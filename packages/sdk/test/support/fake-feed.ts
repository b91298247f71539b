import type { FetchLike } from '../../src/http.js';

/**
 * A fake promptops server for one or more SDK clients: `GET /api/v1/snapshot` answers the snapshot the
 * test sets, `GET /api/v1/stream` (SSE) and `GET /api/v1/changes` (long-poll) deliver the events the test
 * publishes, after the cursor the client asks from. No timers: a long-poll waits until an event arrives
 * or the client aborts. `down` makes every request fail as if the server were unreachable.
 */

export interface FeedEvent {
  readonly type: string;
  readonly seq: number;
  readonly [field: string]: unknown;
}

export const fakeFeed = (initialSnapshot: unknown) => {
  let snapshot = JSON.stringify(initialSnapshot);
  const events: FeedEvent[] = [];
  const streams = new Set<{ after: number; push: (text: string) => void }>();
  const polls = new Set<() => void>();
  const requests: string[] = [];
  const encoder = new TextEncoder();
  const frame = (event: FeedEvent): string =>
    `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  const state = { down: false };

  const stream = (after: number, signal: AbortSignal | undefined): Response => {
    let entry: { after: number; push: (text: string) => void } | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const push = (text: string): void => controller.enqueue(encoder.encode(text));
        const cursor = Math.max(after, ...events.map((e) => e.seq));
        push(`id: ${after}\nevent: ready\ndata: ${JSON.stringify({ cursor })}\n\n`);
        for (const event of events) if (event.seq > after) push(frame(event));
        entry = { after, push };
        streams.add(entry);
        signal?.addEventListener('abort', () => {
          streams.delete(entry!);
          try {
            controller.error(signal.reason);
          } catch {
            // already closed
          }
        });
      },
      cancel() {
        if (entry !== undefined) streams.delete(entry);
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };

  const poll = async (after: number, signal: AbortSignal | undefined): Promise<Response> => {
    while (!events.some((e) => e.seq > after)) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          polls.delete(wake);
          resolve();
        };
        polls.add(wake);
        signal?.addEventListener('abort', () => {
          polls.delete(wake);
          reject(signal.reason as Error);
        });
      });
    }
    const pending = events.filter((e) => e.seq > after);
    return Response.json({ events: pending, cursor: pending.at(-1)!.seq });
  };

  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    requests.push(url.pathname);
    if (state.down) throw new TypeError('fetch failed (test: server down)');
    const after = Number(url.searchParams.get('after') ?? 0);
    const signal = init?.signal ?? undefined;
    if (url.pathname === '/api/v1/snapshot') {
      return new Response(snapshot, { headers: { 'content-type': 'application/json' } });
    }
    if (url.pathname === '/api/v1/stream') return stream(after, signal);
    if (url.pathname === '/api/v1/changes') return poll(after, signal);
    if (url.pathname === '/healthz') return Response.json({ ok: true });
    return Response.json({ error: { code: 'not_found' } }, { status: 404 });
  };

  return {
    fetch,
    state,
    /** Paths of every request, in order (a `get` must add none). */
    requests,
    setSnapshot: (next: unknown): void => {
      snapshot = JSON.stringify(next);
    },
    publish: (event: FeedEvent): void => {
      events.push(event);
      for (const s of streams) s.push(frame(event));
      for (const wake of [...polls]) wake();
    },
  };
};
