import { request as httpRequest, type ClientRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app/app.js';
import type { Stores } from '../../src/app/stores.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { traceEvent } from '../support/traces.js';

/**
 * An ingest request aborted while it waits for the gate (or while it is being processed) never
 * keeps a slot. Two requests are held active inside storage and two wait in the queue; every order of
 * aborting (a real socket destroyed) or completing each of the four runs against one real server, and
 * after each order the gate is empty again and a later ingest goes through.
 */

type Fate = 'abort' | 'complete';

interface Latch {
  readonly opened: Promise<void>;
  open(): void;
}

const latch = (): Latch => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

const permutations = <T>(items: readonly T[]): T[][] =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]));

const FATE_SETS: Fate[][] = Array.from({ length: 16 }, (_, bits) =>
  [0, 1, 2, 3].map((i) => ((bits >> i) & 1 ? 'abort' : 'complete')),
);
const ORDERS = permutations([0, 1, 2, 3]);

/** Waits on a condition, polling often: the condition is what matters, not how long it takes. */
const until = (check: () => void): Promise<void> => vi.waitFor(check, { interval: 2, timeout: 10_000 });

interface Sent {
  readonly req: ClientRequest;
  readonly localPort: () => number | undefined;
  readonly answer: Promise<{ status: number; body: string } | 'aborted'>;
}

describe('the ingest gate under aborted requests', () => {
  let registry: TestRegistry;
  let app: FastifyInstance;
  let port: number;
  const latches = new Map<string, Latch>();
  const arrived = new Set<string>();
  /** Server-side sockets by the client's port, to know when the server has seen a client go. */
  const serverSockets = new Map<number, Socket>();

  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    const real = registry.storage;
    expect(typeof real.traces.ingest.ingestBody).toBe('function');
    // Holds a tagged batch inside storage until the test opens its latch: "being processed" on demand.
    const ingestBody = real.traces.ingest.ingestBody;
    const held: Stores = {
      ...real,
      traces: {
        ...real.traces,
        ingest: {
          ...real.traces.ingest,
          async ingestBody(projectId: number, body: Uint8Array, nowMs: number, createdAtMs: number) {
            const tag = /"id":"(s\d+r\d)-/.exec(Buffer.from(body).toString('utf8'))?.[1];
            const hold = tag === undefined ? undefined : latches.get(tag);
            if (tag !== undefined && hold !== undefined) {
              arrived.add(tag);
              await hold.opened;
            }
            return ingestBody.call(real.traces.ingest, projectId, body, nowMs, createdAtMs);
          },
        },
      },
    };
    app = await buildApp({
      storage: held,
      traces: { ingest: { maxActive: 2, maxQueued: 2 }, retention: false },
    });
    app.server.on('connection', (socket: Socket) => {
      const remote = socket.remotePort;
      if (remote !== undefined) {
        serverSockets.set(remote, socket);
        socket.on('close', () => serverSockets.delete(remote));
      }
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const hold of latches.values()) hold.open();
    await app?.close();
    await registry?.close();
  });

  const post = (tag: string): Sent => {
    const body = JSON.stringify({ events: [traceEvent(`${tag}-e0`), traceEvent(`${tag}-e1`)] });
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/v1/ingest',
      agent: false,
      headers: {
        authorization: `Bearer ${registry.keys.editor}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    const answer = new Promise<{ status: number; body: string } | 'aborted'>((resolve) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
    });
    req.end(body);
    return { req, answer, localPort: () => req.socket?.localPort };
  };

  const stats = () => app.ingestStats();

  /** Two active (held in storage), then two queued, in a known order. */
  const fill = async (scenario: number): Promise<{ tags: string[]; sent: Sent[] }> => {
    const tags = [0, 1, 2, 3].map((r) => `s${scenario}r${r}`);
    for (const tag of tags) latches.set(tag, latch());
    const sent: Sent[] = [];
    sent.push(post(tags[0]!), post(tags[1]!));
    await until(() => expect(arrived.has(tags[0]!) && arrived.has(tags[1]!)).toBe(true));
    sent.push(post(tags[2]!));
    await until(() => expect(stats().queued).toBe(1));
    sent.push(post(tags[3]!));
    await until(() => expect(stats().queued).toBe(2));
    expect(stats().active).toBe(2);
    return { tags, sent };
  };

  let scenario = 0;
  const run = async (fates: readonly Fate[], order: readonly number[]): Promise<void> => {
    scenario += 1;
    const { tags, sent } = await fill(scenario);
    for (const index of order) {
      const request = sent[index]!;
      if (fates[index] === 'abort') {
        const local = request.localPort();
        request.req.destroy();
        // The server has seen this client go before the next step.
        if (local !== undefined) await until(() => expect(serverSockets.has(local)).toBe(false));
      } else {
        latches.get(tags[index]!)!.open();
        // An active request finishes now; a queued one as soon as it is admitted.
        if (arrived.has(tags[index]!)) expect(await request.answer).toMatchObject({ status: 200 });
      }
    }
    // Work already handed to storage finishes whether or not its client is still there.
    for (const tag of tags) latches.get(tag)!.open();
    for (const [index, request] of sent.entries()) {
      if (fates[index] === 'complete') expect(await request.answer).toMatchObject({ status: 200 });
    }
    await until(() => expect(stats()).toEqual({ active: 0, queued: 0, reading: 0 }));
    for (const tag of tags) latches.delete(tag);
  };

  it.each(FATE_SETS.map((fates) => [fates.join(' '), fates] as const))(
    'active, active, queued, queued: %s, in every order',
    async (_name, fates) => {
      for (const order of ORDERS) await run(fates, order);
      // Ingestion goes on: a later batch is admitted and stored.
      const later = post(`later${scenario}`);
      expect(await later.answer).toMatchObject({ status: 200 });
      expect(stats()).toEqual({ active: 0, queued: 0, reading: 0 });
    },
  );
});
