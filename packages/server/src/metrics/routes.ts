import { PROMETHEUS_CONTENT_TYPE, encodePrometheusText } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../context.js';
import { requireActor } from '../request/actor.js';
import { collectFamilies, type FeedFigures, type MetricsSource } from './collect.js';
import type { HttpMetrics } from './http.js';
import type { MetricsReads } from './store.js';

export interface MetricsRouteDeps {
  readonly reads: MetricsReads;
  readonly http: HttpMetrics;
  readonly feed: () => Promise<FeedFigures>;
  readonly sources: readonly MetricsSource[];
  readonly clock: Clock;
  /** Open to anyone (`--metrics-public`): every project's series. Else a `metrics:read` key sees its project's. */
  readonly public: boolean;
}

/**
 * `GET /metrics`: Prometheus text. The process's own figures (requests, SSE, feed lag, ingest) are this
 * replica's; the database's (runs, rollouts, moves, calls) are the same on every replica.
 */
export const metricsRoutes = (deps: MetricsRouteDeps) => async (app: FastifyInstance) => {
  app.get(
    '/metrics',
    { config: { permission: deps.public ? 'public' : 'metrics:read' }, schema: { hide: true } },
    async (request, reply) => {
      const projectId = deps.public ? undefined : requireActor(request.actor).projectId;
      const families = [
        ...deps.http.families(),
        ...(await collectFamilies(deps.reads, await deps.feed(), deps.sources, projectId, deps.clock.now().getTime())),
      ];
      return reply
        .type(PROMETHEUS_CONTENT_TYPE)
        .header('cache-control', 'no-store')
        .send(encodePrometheusText(families));
    },
  );
};
