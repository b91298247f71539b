import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { gatewayErrorHandler } from './errors.js';
import type { GatewayService } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the gateway's hooks first saw the request. */
    gatewayStart: number;
  }
}

/** Chat completion requests carry whole conversations: more room than the registry's 1 MiB. */
export const GATEWAY_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * `POST /v1/chat/completions`, OpenAI-compatible. Authenticated like every route (a promptops key with
 * `gateway:call`); the upstream key is the server's. Answers carry the served sha, version, arm and
 * rollout, and `X-Promptops-Overhead-Ms`: the time spent in the gateway until the answer's headers, less
 * the upstream's wait for its own headers.
 */
export const gatewayRoutes = (service: GatewayService) => async (app: FastifyInstance) => {
  app.setErrorHandler(gatewayErrorHandler);
  // The gateway's clock starts before the body is read and parsed (authentication ran just before).
  app.decorateRequest('gatewayStart', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.gatewayStart = performance.now();
    done();
  });
  app.post(
    '/v1/chat/completions',
    { config: { permission: 'gateway:call' }, bodyLimit: GATEWAY_BODY_LIMIT, schema: { hide: true } },
    async (request, reply) => {
      const actor = requireActor(request.actor);
      // The caller went away before the answer ended: stop the upstream call (and its cost).
      const abort = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      const answer = await service.handle(actor, request.body, request.headers, abort.signal);
      const overhead = Math.max(0, performance.now() - request.gatewayStart - answer.upstreamMs);
      return reply
        .code(answer.status)
        .headers({ ...answer.headers, 'x-promptops-overhead-ms': overhead.toFixed(2) })
        .send(answer.body);
    },
  );
};
