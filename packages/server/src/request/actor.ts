import { PromptopsError } from '@promptops/core';
import type { Actor } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook for every guarded route. */
    actor: Actor | null;
  }
}

export const requireActor = (actor: Actor | null): Actor => {
  if (actor === null) throw new PromptopsError('internal', 'no_actor', 'the route was reached without authentication');
  return actor;
};
