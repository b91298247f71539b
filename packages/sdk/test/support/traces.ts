import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TraceRecord } from '@promptops/core';
import { ADMIN_KEY } from './server.js';

/** Helpers for the tracing tests: reading traces back, watching the SDK's requests, injecting faults. */

export type StoredTrace = TraceRecord & { scores?: { name: string; kind: string; value: unknown }[] };

/** Every trace matching `query`, through `GET /api/v1/traces` pages (newest first). */
export const listTraces = async (url: string, query: Record<string, string> = {}, key = ADMIN_KEY) => {
  const traces: StoredTrace[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: '500', ...(cursor === null ? {} : { cursor }) });
    const response = await fetch(`${url}/api/v1/traces?${params}`, { headers: { authorization: `Bearer ${key}` } });
    if (!response.ok) throw new Error(`GET /api/v1/traces: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { traces: StoredTrace[]; nextCursor: string | null };
    traces.push(...page.traces);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return traces;
};

export const traceDetail = async (url: string, id: string, key = ADMIN_KEY) => {
  const response = await fetch(`${url}/api/v1/traces/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  if (!response.ok) throw new Error(`GET /api/v1/traces/${id}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { trace: StoredTrace }).trace;
};

export interface SeenRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly bodyBytes: number;
  readonly events: number;
  status?: number;
  /** Ingest responses: the ids the server acknowledged (accepted or duplicates). */
  acknowledged?: string[];
  error?: string;
}

/** A fetch for `createClient({ fetch })` that records what the SDK sends and what it gets back. */
export const recordingFetch = () => {
  const seen: SeenRequest[] = [];
  const fetchImpl = async (input: string, init: RequestInit): Promise<Response> => {
    const body = typeof init.body === 'string' ? init.body : '';
    const entry: SeenRequest = {
      at: performance.now(),
      method: init.method ?? 'GET',
      path: new URL(input).pathname,
      bodyBytes: Buffer.byteLength(body),
      events: body.startsWith('{"events":') ? (JSON.parse(body) as { events: unknown[] }).events.length : 0,
    };
    if (entry.method === 'POST') seen.push(entry);
    try {
      const response = await fetch(input, init);
      entry.status = response.status;
      if (entry.path === '/api/v1/ingest' && response.ok) {
        const result = (await response.clone().json()) as { accepted: string[]; duplicates: string[] };
        entry.acknowledged = [...result.accepted, ...result.duplicates];
      }
      return response;
    } catch (error) {
      entry.error = String((error as Error).cause ?? error);
      throw error;
    }
  };
  return { seen, fetch: fetchImpl, posts: (path: string) => seen.filter((request) => request.path === path) };
};

/**
 * A pass-through HTTP proxy to a real server that answers `fail(path, n)`'s status instead of
 * forwarding when it returns one (n counts the requests to that path): 5xx faults in front of a real
 * promptops server.
 */
export const startFaultProxy = async (target: string, fail: (path: string, n: number) => number | undefined) => {
  const counts = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    const status = fail(path, n);
    if (status !== undefined) {
      request.resume();
      request.on('end', () =>
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'injected', message: `injected ${status}` } })),
      );
      return;
    }
    const upstream = httpRequest(
      new URL(request.url ?? '/', target),
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
