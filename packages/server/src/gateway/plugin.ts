import type { GatewayConfig } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import type { SnapshotCache } from '../changes/snapshot-cache.js';
import type { RegistryReads } from '../registry/store.js';
import { TraceRecorder, type RecorderOptions, type RecorderStats, type TraceIngestPort } from './recorder.js';
import { createGatewayResolver } from './resolve.js';
import { gatewayRoutes } from './routes.js';
import { createGatewayService } from './service.js';
import { ShadowRunner, type ShadowStats } from './shadow.js';
import { createUpstreams } from './upstream.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's background work: traces waiting to be written, shadow calls (tests and metrics read it). */
    gateway: {
      stats(): { traces: RecorderStats; shadow: ShadowStats };
      /** Waits for every shadow call, then writes every trace held. */
      settle(): Promise<void>;
    };
  }
}

export interface GatewayOptions {
  /** The upstreams (`--gateway-config`); none: only the built-in `simulated` provider. */
  readonly config?: GatewayConfig;
  /** Where the config came from, for errors naming it. */
  readonly source?: string;
  /** Where upstream API keys are read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Answer providers the config does not list with `simulated` (`serve --demo` without a config). */
  readonly simulateUnlisted?: boolean;
  /** How gateway traces are batched. */
  readonly traces?: RecorderOptions;
}

export interface GatewayStores {
  readonly snapshots: SnapshotCache;
  readonly registry: RegistryReads;
  readonly traces: TraceIngestPort;
}

export const registerGateway = async (
  app: FastifyInstance,
  stores: GatewayStores,
  options: GatewayOptions = {},
): Promise<void> => {
  const config = options.config ?? { providers: {} };
  const recorder = new TraceRecorder(stores.traces, {
    onError: (error) => app.log.error({ err: error }, 'gateway: recording traces failed'),
    ...options.traces,
  });
  const shadows = new ShadowRunner(config.shadow, (error) =>
    app.log.warn({ err: error }, 'gateway: shadow call failed'),
  );
  const service = createGatewayService({
    resolve: createGatewayResolver(stores.snapshots, stores.registry),
    upstreamFor: createUpstreams({
      config,
      source: options.source ?? 'none given (promptops serve --gateway-config FILE)',
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.simulateUnlisted === undefined ? {} : { simulateUnlisted: options.simulateUnlisted }),
    }),
    recorder,
    shadows,
  });
  const settle = async (): Promise<void> => {
    await service.finished();
    await shadows.idle();
    await recorder.flush();
  };
  app.decorate('gateway', { stats: () => ({ traces: recorder.stats, shadow: shadows.stats }), settle });
  app.addHook('onClose', settle);
  await app.register(gatewayRoutes(service));
};
