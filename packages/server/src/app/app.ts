import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import { PromptopsError } from '@promptops/core';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { auditRoutes } from '../audit/routes.js';
import type { AuditKeyring } from '../audit/keyring.js';
import { createAuditService } from '../audit/service.js';
import { accessRoutes } from '../access/routes.js';
import { createAccessService } from '../access/service.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { AuthFailureLimiter, type AuthRateLimitOptions } from '../auth/rate-limit.js';
import { RateLimitedError } from '../auth/rate-limited.js';
import { isLimitedWrite, WriteRateLimiter, type WriteRateLimitOptions } from '../auth/write-limit.js';
import { changeRoutes } from '../changes/routes.js';
import { createChangeFeed, type ChangeFeed, type ChangeFeedOptions } from '../changes/service.js';
import { roleAllows, type Permission } from '../auth/permissions.js';
import { permissionPhrase } from '../auth/permission-phrase.js';
import { systemClock, type Actor, type Clock } from '../context.js';
import { createDriftCheck } from '../drift/check.js';
import { driftRoutes } from '../drift/routes.js';
import { createDriftService, type DriftServiceOptions } from '../drift/service.js';
import { createEvalGate, type EvalGate } from '../evals/gate.js';
import { createTenantTargets } from '../evals/tenant-targets.js';
import { evalRoutes } from '../evals/routes.js';
import { createEvalService } from '../evals/service.js';
import { registerGateway, type GatewayOptions } from '../gateway/plugin.js';
import { createLabelService } from '../labels/service.js';
import { incidentRoutes } from '../incidents/routes.js';
import { createMonitorRunner, type MonitorRunner, type MonitorRunnerOptions } from '../incidents/runner.js';
import { createIncidentService } from '../incidents/service.js';
import { LANGFUSE_API_PREFIX, keyMismatch, langfuseCredentials } from '../langfuse/basic-auth.js';
import { langfuseRoutes } from '../langfuse/routes.js';
import { createLangfuseService } from '../langfuse/service.js';
import { labelRoutes } from '../labels/routes.js';
import { createLabelRuleService } from '../labels/rules.js';
import { labelRuleRoutes } from '../labels/rules-routes.js';
import type { MetricsSource } from '../metrics/collect.js';
import { HttpMetrics } from '../metrics/http.js';
import { metricsRoutes } from '../metrics/routes.js';
import { promptRoutes } from '../prompts/routes.js';
import { createBlameService } from '../reviews/blame.js';
import { createPolicyService } from '../reviews/policies.js';
import { policyRoutes, reviewRoutes } from '../reviews/routes.js';
import { createReviewService } from '../reviews/service.js';
import { createPromptService } from '../prompts/service.js';
import { withLiveAssertions } from '../rollouts/live-assertions.js';
import type { RolloutObservationSource } from '../rollouts/observations.js';
import { rolloutRoutes } from '../rollouts/routes.js';
import { createRolloutScheduler, type RolloutScheduler, type RolloutSchedulerOptions } from '../rollouts/scheduler.js';
import { createRolloutService } from '../rollouts/service.js';
import { createTenantViews } from '../tenants/effective.js';
import { tenantRoutes } from '../tenants/routes.js';
import { createTenantService } from '../tenants/service.js';
import type { Stores } from './stores.js';
import {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../webhooks/dispatcher.js';
import { webhookRoutes } from '../webhooks/routes.js';
import { createWebhookService, type WebhookOptions } from '../webhooks/service.js';
import { registerTraces, type TraceOptions } from '../traces/plugin.js';
import { requireActor } from '../request/actor.js';
import { errorHandler, replyWithError } from '../request/errors.js';
import { tenantScopeRefusal } from '../request/tenant-scope.js';
import { refuseMalformedInput } from './input-guards.js';
import { resolveTimeouts, type ServerTimeouts } from './timeouts.js';
import { fastifyTrustProxy, type TrustProxy } from './trust-proxy.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerWeb } from './web.js';

export const BODY_LIMIT = 1024 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    /** The change feed's snapshot, stream and long-poll, and its stats (tests read them). */
    changeFeed: ChangeFeed;
    /** Decides running rollouts; `start-server.ts` starts it, tests call its `tick()`. */
    rolloutScheduler: RolloutScheduler;
    /** Looks at every monitor; `start-server.ts` starts it, tests call its `tick()`. */
    monitorRunner: MonitorRunner;
    /** Sends webhook deliveries; `start-server.ts` starts it, tests call its `tick()`. */
    webhookDispatcher: WebhookDispatcher;
    /** Figures other features add to `/metrics` (incidents open, …): push a source. */
    metricsSources: MetricsSource[];
  }
}

export interface AppOptions {
  readonly storage: Stores;
  readonly clock?: Clock;
  readonly logger?: FastifyServerOptions['logger'];
  /** Change feed tuning (poll interval, keepalive, subscriber limit). */
  readonly changeFeed?: ChangeFeedOptions;
  /** Trace ingestion gate and retention. */
  readonly traces?: TraceOptions;
  /** A built dashboard folder (packages/web/dist) to serve at `/`; `startServer` finds it, `buildApp` serves none by default. */
  readonly webRoot?: string;
  /** Checks a change request's required eval suites; by default the registry's recorded runs (`evals/gate.ts`). */
  readonly evalGate?: EvalGate;
  /** Failed-authentication limits (per key id and per client address, in this process's memory). */
  readonly authRateLimit?: AuthRateLimitOptions;
  /** Writes per key (in this process's memory); false for none. Default 1,200 a minute. */
  readonly writeRateLimit?: WriteRateLimitOptions | false;
  /** Whose X-Forwarded-For gives the client address (`app/trust-proxy.ts`); default false. */
  readonly trustProxy?: TrustProxy;
  /** HTTP server timeouts (`app/timeouts.ts`); documented defaults otherwise. */
  readonly timeouts?: ServerTimeouts;
  /** The audit HMAC keys (PROMPTOPS_AUDIT_HMAC_KEY) verify checks the log's HMACs with and signs heads with. */
  readonly auditKeyring?: AuditKeyring;
  /** The OpenAI-compatible gateway's upstreams and trace batching (`gateway/plugin.ts`). */
  readonly gateway?: GatewayOptions;
  /** The rollouts scheduler's tick and lease, and the per-arm figures it decides on (tests inject them). */
  readonly rollouts?: RolloutSchedulerOptions & { readonly observations?: RolloutObservationSource };
  /** The monitors' tick and lease. */
  readonly monitors?: MonitorRunnerOptions;
  /** Webhooks: the secrets' box (PROMPTOPS_SECRET_KEY), private targets, the dispatcher's tick and lease. */
  readonly webhooks?: WebhookOptions & WebhookDispatcherOptions;
  /** Drift reports: the embeddings provider (PROMPTOPS_EMBEDDINGS_URL and _MODEL); none by default. */
  readonly drift?: DriftServiceOptions;
  /** `/metrics` without a key (`--metrics-public`); else it needs a `metrics:read` key. */
  readonly metricsPublic?: boolean;
  /** Observes every registered route (the permission test enumerates them). */
  readonly onRoute?: (route: {
    method: string;
    url: string;
    permission: Permission | undefined;
    tenantScoped: boolean;
  }) => void;
}

/** Routes that must declare a permission: everything an API key guards. */
const isGuarded = (url: string): boolean => url.startsWith('/api/') || url.startsWith('/v1/');

export const buildApp = async (options: AppOptions): Promise<FastifyInstance> => {
  const clock = options.clock ?? systemClock;
  const { storage } = options;
  const timeouts = resolveTimeouts(options.timeouts);
  const app = Fastify({
    logger: options.logger ?? false,
    // Unique across replicas and restarts: the id a 500 returns finds its one log line.
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkIntervalMs },
    bodyLimit: BODY_LIMIT,
    // removeAdditional off: an unknown body field (`role`, `project`, `author`…) is a 400 naming it, never
    // silently dropped, so no request can believe it assigned something.
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    routerOptions: { maxParamLength: 500 },
  });

  app.decorateRequest('actor', null);
  app.setErrorHandler(errorHandler);
  registerSecurityHeaders(app);
  app.addHook('preHandler', refuseMalformedInput);
  const httpMetrics = new HttpMetrics();
  app.addHook('onResponse', (request, reply, done) => {
    httpMetrics.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  let webFallback: Awaited<ReturnType<typeof registerWeb>> | undefined;
  app.setNotFoundHandler(
    (request, reply) =>
      webFallback?.(request, reply) ??
      reply.code(404).send({
        error: {
          code: 'route_not_found',
          message: `no route ${request.method} ${request.url.split('?')[0]}`,
          fix: 'see GET /api/v1/openapi.json',
        },
      }),
  );

  // One place decides who may call what; a guarded route without a declared permission cannot exist.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const { permission, tenantScoped } = route.config ?? {};
      options.onRoute?.({ method, url: route.url ?? '', permission, tenantScoped: tenantScoped === true });
    }
    if (isGuarded(route.url ?? '') && route.config?.permission === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    }
  });
  const authenticate = createAuthenticator(storage, clock, new AuthFailureLimiter(options.authRateLimit));
  const writes = options.writeRateLimit === false ? undefined : new WriteRateLimiter(options.writeRateLimit);
  const authorize = (request: FastifyRequest, actor: Actor, permission: Permission | undefined): void => {
    // A tenant-scoped key reaches only the routes that limit themselves to its tenant.
    if (actor.tenant !== undefined && request.routeOptions.config.tenantScoped !== true) {
      throw tenantScopeRefusal(actor.tenant, 'use this route (it is not limited to one tenant)');
    }
    if (permission !== undefined && !roleAllows(actor.role, permission)) {
      throw new PromptopsError(
        'forbidden',
        'forbidden',
        `the key's role '${actor.role}' may not ${permissionPhrase(permission)}`,
        {
          fix: 'use a key with a higher role',
        },
      );
    }
    request.actor = actor;
  };
  // Callback style: a cached key on SQLite authenticates without a single promise.
  app.addHook('onRequest', (request, reply, done) => {
    const permission = request.routeOptions.config.permission;
    if (permission === 'public') return done();
    // Unknown /api paths also need a key: no probing without one.
    if (permission === undefined && !isGuarded(request.url)) return done();
    // Langfuse clients send Basic public:secret; the secret is the API key, the public key its id.
    const basic = request.url.startsWith(LANGFUSE_API_PREFIX)
      ? langfuseCredentials(request.headers.authorization)
      : undefined;
    authenticate(basic?.authorization ?? request.headers.authorization, request, (error, actor) => {
      if (error === null && basic !== undefined && basic.publicKey !== actor!.keyId) error = keyMismatch();
      if (error === null) {
        try {
          authorize(request, actor!, permission);
        } catch (refused) {
          error = refused;
        }
      }
      if (error === null && writes !== undefined && isLimitedWrite(request.method, permission)) {
        const retryAfter = writes.take(actor!.keyId, clock.now().getTime());
        if (retryAfter > 0) {
          request.log.warn({ limit: 'writes', keyId: actor!.keyId, retryAfter }, 'write refused');
          error = writes.refusal(retryAfter);
        }
      }
      if (error === null) return done();
      if (error instanceof RateLimitedError) {
        // Answered here (a hook that sends does not call done): 429 with when to come back.
        void replyWithError(reply, error, error.retryAfterSeconds);
        return;
      }
      done(error as Error);
    });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'promptops', version: '1', description: 'Content-addressed prompt registry. See docs/api.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/healthz', { config: { permission: 'public' }, schema: { hide: true } }, async () => ({
    status: 'ok',
    db: storage.dialect,
  }));
  app.get(
    '/api/v1/openapi.json',
    { config: { permission: 'prompts:read', tenantScoped: true }, schema: { hide: true } },
    async () => app.swagger(),
  );
  app.get('/api/v1/me', { config: { permission: 'prompts:read', tenantScoped: true } }, async (request) => {
    const actor = requireActor(request.actor);
    return {
      project: { id: actor.projectId, name: actor.projectName },
      role: actor.role,
      keyId: actor.keyId,
      keyName: actor.keyName ?? actor.name,
      user: actor.user,
      name: actor.name,
      tenant: actor.tenant ?? null,
    };
  });

  const evalGate =
    options.evalGate ?? createEvalGate(storage.evals, createTenantTargets(storage.registry, storage.tenants));
  const prompts = createPromptService(storage, clock);
  const labels = createLabelService(storage, clock, evalGate);
  const audit = createAuditService(storage);
  await app.register(promptRoutes(prompts));
  await app.register(labelRoutes(labels));
  await app.register(labelRuleRoutes(createLabelRuleService(storage, clock)));
  await app.register(langfuseRoutes(createLangfuseService(prompts, labels)));
  await app.register(auditRoutes(audit, storage, options.auditKeyring));
  await app.register(policyRoutes(createPolicyService(storage, clock)));
  await app.register(
    reviewRoutes(
      createReviewService(storage, clock, evalGate, createDriftCheck(storage.evals), (tx, actor, request) =>
        rollouts.startFromReview(tx, actor, request),
      ),
      createBlameService(storage),
    ),
  );
  await app.register(accessRoutes(createAccessService(storage, clock)));
  await registerTraces(app, storage, clock, options.traces);
  await app.register(evalRoutes(createEvalService(storage, clock, evalGate)));
  await app.register(driftRoutes(createDriftService(storage, clock, options.drift)));
  if (options.webRoot !== undefined) webFallback = await registerWeb(app, options.webRoot);
  app.decorate(
    'changeFeed',
    createChangeFeed(storage.registry, {
      log: app.log,
      rollouts: storage.rollouts,
      overrides: storage.tenants,
      labelRules: storage.labelRules,
      ...options.changeFeed,
    }),
  );
  await app.register(changeRoutes(app.changeFeed));
  app.decorate('metricsSources', [] as MetricsSource[]);
  await app.register(
    metricsRoutes({
      reads: storage.metrics,
      http: httpMetrics,
      sources: app.metricsSources,
      clock,
      public: options.metricsPublic === true,
      feed: async () => {
        const { streams, subscribers } = app.changeFeed.stats();
        let lagEntries = 0;
        for (const [projectId, cursor] of app.changeFeed.cursors()) {
          lagEntries = Math.max(lagEntries, (await storage.registry.latestAuditSeq(projectId)) - cursor);
        }
        return { streams, subscribers, lagEntries };
      },
    }),
  );
  // The traces (with the live assertions of the prompt's suites) decide unless a test injects its own figures.
  const traceObservations = withLiveAssertions(storage.traces, storage);
  const rollouts = createRolloutService(storage, clock, evalGate, {
    observations: () => options.rollouts?.observations ?? traceObservations,
  });
  await app.register(rolloutRoutes(rollouts));
  const tenants = createTenantService(storage, clock);
  await app.register(tenantRoutes(tenants, createTenantViews(storage.registry, tenants)));
  app.decorate(
    'rolloutScheduler',
    createRolloutScheduler(rollouts, storage.leases, clock, { log: app.log, ...options.rollouts }),
  );
  app.addHook('onClose', async () => app.rolloutScheduler.stop());
  const incidents = createIncidentService(storage, clock, labels);
  await app.register(incidentRoutes(incidents));
  app.decorate(
    'monitorRunner',
    createMonitorRunner(incidents, storage.leases, clock, { log: app.log, ...options.monitors }),
  );
  app.addHook('onClose', async () => app.monitorRunner.stop());
  const webhooks = createWebhookService(storage, clock, options.webhooks);
  await app.register(webhookRoutes(webhooks));
  app.decorate(
    'webhookDispatcher',
    createWebhookDispatcher(webhooks, storage.leases, clock, { log: app.log, ...options.webhooks }),
  );
  app.addHook('onClose', async () => app.webhookDispatcher.stop());
  await registerGateway(
    app,
    { snapshots: app.changeFeed.snapshots, registry: storage.registry, traces: storage.traces.ingest },
    options.gateway,
  );
  return app;
};
