import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Actor } from '../context.js';
import type { ChangeEvent } from './events.js';
import type { ChangeFeed, NameFilter } from './service.js';
import type { Subscription } from './subscription.js';

/** Server-Sent Events framing: `id` is the audit seq, so a reconnecting EventSource resumes by itself. */

// A live batch's events are shared by every subscriber of the project: each is serialized once.
const frames = new WeakMap<ChangeEvent, string>();

export const eventFrame = (event: ChangeEvent): string => {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
};

/** The ready event carries the cursor as its id too, so a client that saw no event still resumes from it. */
export const readyFrame = (cursor: number): string =>
  `id: ${cursor}\nevent: ready\ndata: ${JSON.stringify({ cursor })}\n\n`;

export const KEEPALIVE_FRAME = ': keepalive\n\n';

/** Tells a client that asked for `?catchup=snapshot` to reload the snapshot and resume after its cursor. */
export const resyncFrame = (latest: number): string =>
  `event: resync\ndata: ${JSON.stringify({ cursor: latest, fix: 'GET /api/v1/snapshot, then resume after its cursor' })}\n\n`;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no', // nginx would otherwise buffer the stream
  'x-content-type-options': 'nosniff', // hijacked: the app's onSend headers never reach it
} as const;

/**
 * A client too far behind to be replayed cheaply: the ready event, one `resync` event, and the end of the
 * stream. Its snapshot request is served from the snapshot cache (compressed, conditional).
 */
export const sendResync = (reply: FastifyReply, after: number, latest: number): void => {
  reply.hijack();
  reply.raw.writeHead(200, SSE_HEADERS);
  reply.raw.end(readyFrame(after) + resyncFrame(latest));
};

const drained = (raw: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });

/**
 * Takes over the response and streams the project's changes after `after` until the client leaves or
 * the server shuts down. The caller has checked the cursor and the subscriber limit, so nothing here
 * can still turn into an error status.
 */
export const streamChanges = (
  feed: ChangeFeed,
  reply: FastifyReply,
  actor: Actor,
  after: number,
  names: NameFilter | undefined,
): void => {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, SSE_HEADERS);
  raw.write(readyFrame(after));

  let ended = false;
  let subscription: Subscription | undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    untrack();
    subscription?.close();
    raw.off('close', end);
    if (!raw.writableEnded) raw.end();
  };
  raw.on('close', end);
  const keepalive = setInterval(() => raw.write(KEEPALIVE_FRAME), feed.settings.keepaliveMs);
  keepalive.unref();
  const untrack = feed.track(end);
  try {
    subscription = feed.subscribe(actor, after, names, {
      deliver: (events) => {
        if (ended || events.length === 0) return;
        // Waiting for drain holds back this client's queue only; too long a queue cuts it off.
        if (!raw.write(events.map(eventFrame).join(''))) return drained(raw);
      },
      fail: (error) => {
        reply.log.warn({ err: error }, 'change stream ended');
        end();
      },
    });
  } catch (error) {
    reply.log.warn({ err: error }, 'change stream refused'); // the server is shutting down
    end();
  }
  // The client may have gone while the route was still checking its cursor: 'close' will not come again.
  if (raw.destroyed) end();
};
