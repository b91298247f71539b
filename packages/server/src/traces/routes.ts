import { PromptopsError, type ErrorCode, type ErrorKind } from '@promptops/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireActor } from '../request/actor.js';
import { errorHandler, sendError as sendErrorBody } from '../request/errors.js';
import { nameParams } from '../request/schemas.js';
import { TraceWriterUnavailableError } from './ingest/writer.js';
import type { MetricsGroupBy } from './store.js';
import { BodyTimeoutError, guardBody, type BodyDeadline } from './body-deadline.js';
import type { BodyReadLimit, ConcurrencyGate } from './gate.js';
import { parseJsonBody } from './ingest/body.js';
import { MAX_BATCH_EVENTS, MAX_INGEST_BODY_BYTES } from './limits.js';
import { checkExportRequest, OtlpTooLargeError } from './otlp.js';
import { decodeTraceRequest, encodeStatus, encodeTraceResponse, statusJson } from './otlp-proto.js';
import type { TraceQuery, TraceService } from './service.js';

const PROTOBUF = 'application/x-protobuf';
const OTLP_URL = '/v1/traces';
/**
 * Where Langfuse's exporter (`@langfuse/otel`) sends spans, given promptops' URL as its base URL. Under
 * `/api/public/`, so its Basic `public:secret` pair is read there (and only there) like on the prompt API.
 */
const LANGFUSE_OTLP_URL = '/api/public/otel/v1/traces';
const OTLP_URLS = new Set([OTLP_URL, LANGFUSE_OTLP_URL]);

/** What bounds ingestion (see plugin.ts for the defaults). */
export interface IngestLimits {
  readonly gate: ConcurrencyGate;
  readonly reads: BodyReadLimit;
  readonly deadline: BodyDeadline;
  readonly retryAfterSeconds: number;
}

/** A JSON body not parsed yet (an object, so the route's `type: object` body schema accepts it). */
class JsonBytes {
  constructor(readonly bytes: Buffer) {}
}

const OTLP_TYPES = 'application/json or application/x-protobuf';

/** What each route says of a body of another type (or none). */
const WRONG_TYPE = {
  ingest: {
    message: 'the body must be JSON (Content-Type: application/json)',
    fix: 'send { "events": [ … ] } as application/json',
  },
  otlp: {
    message: `the body must be an OTLP ExportTraceServiceRequest, as ${OTLP_TYPES}`,
    fix: `send OTLP/HTTP with Content-Type: ${OTLP_TYPES} (optionally gzip)`,
  },
} as const;

const jsonBytesOf = (body: unknown, route: keyof typeof WRONG_TYPE): Buffer => {
  if (body instanceof JsonBytes) return body.bytes;
  const { message, fix } = WRONG_TYPE[route];
  throw new PromptopsError('invalid', route === 'otlp' ? 'invalid_otlp' : 'invalid_request', message, { fix });
};

const isProtobuf = (request: FastifyRequest): boolean =>
  String(request.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith(PROTOBUF);

/** gRPC codes for a Status (google/rpc/code.proto), by HTTP status. */
const GRPC_CODE_BY_STATUS: Readonly<Record<number, number>> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  408: 4, // DEADLINE_EXCEEDED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  500: 13, // INTERNAL
  503: 14, // UNAVAILABLE
};

/**
 * `/v1/traces` answers every error (its own, authentication's, Fastify's) as OTLP/HTTP specifies: a
 * `google.rpc.Status` in the request's encoding, instead of promptops' `{ error }`, whose code and fix
 * it carries in an ErrorInfo detail.
 */
const otlpErrorBody = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
  if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
  let error: unknown;
  try {
    error = (JSON.parse(payload) as { error?: unknown }).error;
  } catch {
    return payload;
  }
  if (typeof error !== 'object' || error === null) return payload;
  const { code, message, fix } = error as { code?: unknown; message?: unknown; fix?: unknown };
  const status = {
    code: GRPC_CODE_BY_STATUS[reply.statusCode] ?? (reply.statusCode < 500 ? 3 : 2),
    message: typeof message === 'string' ? message : `HTTP ${reply.statusCode}`,
    reason: typeof code === 'string' ? code : 'error',
    fix: typeof fix === 'string' ? fix : undefined,
  };
  if (isProtobuf(request)) {
    void reply.type(PROTOBUF);
    return Buffer.from(encodeStatus(status));
  }
  void reply.type('application/json; charset=utf-8');
  return JSON.stringify(statusJson(status));
};

const sendError = (
  reply: FastifyReply,
  kind: ErrorKind,
  code: ErrorCode,
  message: string,
  fix: string,
  retryAfterSeconds?: number,
): FastifyReply => sendErrorBody(reply, kind, { code, message, fix }, retryAfterSeconds);

/**
 * Ingestion: `POST /api/v1/ingest` and OTLP/HTTP `POST /v1/traces`. Encapsulated, so its body handling
 * (JSON kept as bytes, then plain JSON.parse: a hostile `__proto__` key rejects only its own event, as
 * data, instead of the whole batch; protobuf; gzip) and its 5 MiB limit apply to these routes only.
 */
const ingestRoutes =
  (service: TraceService, { gate, reads, deadline, retryAfterSeconds }: IngestLimits) =>
  async (app: FastifyInstance) => {
    // JSON stays bytes here: the ingest route hands them to the writer thread (see ingest/writer.ts);
    // OTLP/JSON parses them in its handler.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, new JsonBytes(body as Buffer)),
    );
    app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const otlp = OTLP_URLS.has(request.routeOptions.url ?? '');
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(
          reply,
          'too_large',
          'too_large',
          `the request body is larger than ${MAX_INGEST_BODY_BYTES / 1024 / 1024} MiB`,
          otlp
            ? 'send at most 5 MiB per request: lower the exporter batch size (e.g. BatchSpanProcessor maxExportBatchSize)'
            : `send at most ${MAX_BATCH_EVENTS} events and 5 MiB per request`,
        );
      }
      if (otlp && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return sendError(
          reply,
          'unsupported_media_type',
          'unsupported_media_type',
          WRONG_TYPE.otlp.message,
          WRONG_TYPE.otlp.fix,
        );
      }
      if (typeof (error as { errno?: unknown }).errno === 'number' && String(error.code).startsWith('Z_')) {
        return sendError(
          reply,
          'invalid',
          'invalid_gzip',
          'the gzip body could not be decompressed',
          'send a valid gzip body, or none',
        );
      }
      if (error instanceof BodyTimeoutError) {
        return sendError(
          reply.header('connection', 'close'),
          'timeout',
          'body_timeout',
          error.message,
          `send the whole body within ${deadline.timeoutMs / 1000} s (and at least ${deadline.minBytesPerSecond} bytes/s)`,
        );
      }
      if (error instanceof TraceWriterUnavailableError) {
        // The failing transaction rolled back (earlier ones of the batch committed): resending is idempotent.
        request.log.error({ err: error }, 'trace insert failed');
        return sendError(
          reply,
          'unavailable',
          'unavailable',
          error.message,
          `retry after ${retryAfterSeconds} s; event ids make resends idempotent`,
          retryAfterSeconds,
        );
      }
      return errorHandler(error, request, reply);
    });

    /** 429 with Retry-After. */
    const overloaded = (reply: FastifyReply, message: string): FastifyReply =>
      sendError(
        reply,
        'rate_limited',
        'overloaded',
        message,
        `retry after ${retryAfterSeconds} s; SDKs back off and resend (event ids make resends idempotent)`,
        retryAfterSeconds,
      );

    /**
     * Runs the route's work inside the gate, after the body has arrived: a slow sender never holds a
     * slot. A client that goes away while waiting leaves the queue; one that goes away while its batch is
     * processed keeps the slot until the work (already handed to storage) ends.
     */
    const admitted = async (reply: FastifyReply, work: () => Promise<FastifyReply>): Promise<FastifyReply> => {
      const left = new AbortController();
      const onClose = (): void => left.abort(new Error('the client went away'));
      reply.raw.once('close', onClose);
      if (reply.raw.destroyed) onClose();
      try {
        const entry = gate.tryAcquire(left.signal);
        if (entry === undefined) return overloaded(reply, 'ingestion is at capacity');
        let release: () => void;
        try {
          release = await entry;
        } catch {
          // Nobody is there to answer.
          reply.hijack();
          return reply;
        }
        try {
          return await work();
        } finally {
          release();
        }
      } finally {
        reply.raw.off('close', onClose);
      }
    };

    // After authentication (app-level hook): a read slot of the key, then the body against a deadline.
    const hooks = {
      preParsing: async (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream) => {
        const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (encoding !== 'identity' && encoding !== 'gzip') {
          throw new PromptopsError(
            'invalid',
            'unsupported_encoding',
            `content-encoding "${encoding}" is not supported`,
            { fix: 'send gzip or no content-encoding' },
          );
        }
        const release = reads.tryAcquire(requireActor(request.actor).keyId);
        if (release === undefined) {
          // The body is left unread: the connection closes after the answer.
          overloaded(reply.header('connection', 'close'), 'too many ingest bodies are being read for this key');
          return undefined;
        }
        // The limit applies to the inflated body (Fastify counts what this stream yields); the raw length
        // is reported separately so the Content-Length check still matches.
        const body = guardBody(payload, encoding === 'gzip', deadline);
        const done = (): void => {
          release();
          body.stop();
        };
        body.stream.once('end', done).once('close', done);
        reply.raw.once('close', done);
        return body.stream;
      },
    };

    app.post(
      '/api/v1/ingest',
      {
        config: { permission: 'traces:write' },
        bodyLimit: MAX_INGEST_BODY_BYTES,
        ...hooks,
        schema: {
          tags: ['traces'],
          summary: `Ingest a batch of trace events (at most ${MAX_BATCH_EVENTS} and 5 MiB); per-item results`,
          body: { type: 'object', description: '{ events: TraceEvent[] } — see docs/api.md' },
        },
      },
      async (request, reply) => {
        const bytes = jsonBytesOf(request.body, 'ingest');
        return admitted(reply, async () => {
          const { anyStored, json } = await service.ingest(requireActor(request.actor), bytes);
          return reply
            .code(anyStored ? 200 : 400)
            .type('application/json; charset=utf-8')
            .send(Buffer.from(json.buffer, json.byteOffset, json.byteLength));
        });
      },
    );

    for (const url of OTLP_URLS)
      app.post(
        url,
        {
          config: { permission: 'traces:write' },
          bodyLimit: MAX_INGEST_BODY_BYTES,
          ...hooks,
          onSend: otlpErrorBody,
          schema: { tags: ['traces'], summary: 'OTLP/HTTP trace export (application/json or application/x-protobuf)' },
        },
        async (request, reply) =>
          admitted(reply, async () => {
            const protobufBody = isProtobuf(request);
            let decoded: unknown;
            if (protobufBody) {
              try {
                decoded = decodeTraceRequest(request.body as Buffer);
              } catch (error) {
                throw new PromptopsError(
                  'invalid',
                  'invalid_otlp',
                  `the protobuf body is not an ExportTraceServiceRequest: ${(error as Error).message}`,
                  {
                    fix: 'send an OTLP ExportTraceServiceRequest (Content-Type: application/x-protobuf)',
                  },
                );
              }
            } else {
              decoded = parseJsonBody(jsonBytesOf(request.body, 'otlp'));
              checkExportRequest(decoded);
            }
            let result: Awaited<ReturnType<TraceService['ingestOtlp']>>;
            try {
              result = await service.ingestOtlp(requireActor(request.actor), decoded);
            } catch (error) {
              if (error instanceof OtlpTooLargeError) {
                throw new PromptopsError(
                  'too_large',
                  'batch_too_large',
                  `${error.message}; the limit is ${MAX_BATCH_EVENTS} LLM spans per request`,
                  {
                    fix: 'lower the exporter batch size (e.g. BatchSpanProcessor maxExportBatchSize)',
                  },
                );
              }
              throw error;
            }
            const { rejectedSpans, errorMessage } = result;
            if (protobufBody)
              return reply.type(PROTOBUF).send(Buffer.from(encodeTraceResponse(rejectedSpans, errorMessage)));
            // OTLP/JSON: int64 as a string; partial_success is left unset when everything was accepted.
            return reply.send(
              rejectedSpans === 0 ? {} : { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } },
            );
          }),
      );
  };

const traceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    traceId: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' },
    prompt: { type: 'string', minLength: 1, maxLength: 200 },
    version: { type: 'integer', minimum: 1 },
    sha: { type: 'string', pattern: '^[0-9a-fA-F]{7,64}$' },
    label: { type: 'string', minLength: 1, maxLength: 63 },
    tenant: { type: 'string', minLength: 1, maxLength: 200 },
    rollout: { type: 'string', minLength: 1, maxLength: 200 },
    arm: { type: 'string', minLength: 1, maxLength: 200 },
    status: { type: 'string', enum: ['ok', 'error'] },
    since: { type: 'string', minLength: 1, maxLength: 40 },
    until: { type: 'string', minLength: 1, maxLength: 40 },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/** Queries and scores: ordinary JSON routes. */
const queryRoutes = (service: TraceService) => async (app: FastifyInstance) => {
  app.get<{ Querystring: TraceQuery }>(
    '/api/v1/traces',
    {
      config: { permission: 'traces:read', tenantScoped: true },
      schema: {
        tags: ['traces'],
        summary: 'Traces, newest first, filtered; cursor-paginated',
        querystring: traceQuery,
      },
    },
    async (request) => service.list(requireActor(request.actor), request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/traces/:id',
    {
      config: { permission: 'traces:read', tenantScoped: true },
      schema: {
        tags: ['traces'],
        summary: 'One trace in full, its prompt version, the diff to its parent and to what its label serves now',
        params: idParams,
      },
    },
    async (request) => service.detail(requireActor(request.actor), request.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/traces/:id/scores',
    {
      config: { permission: 'traces:write' },
      schema: {
        tags: ['traces'],
        summary: 'Score a trace: thumbs up/down, numeric, or a label, with an optional comment',
        params: idParams,
        body: { type: 'object', description: '{ kind: "thumbs"|"numeric"|"label", value, name?, comment? }' },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await service.addScore(requireActor(request.actor), request.params.id, request.body)),
  );

  app.get<{
    Params: { name: string };
    Querystring: { by: MetricsGroupBy; since: string; until?: string; bucket: string; rollout?: string };
  }>(
    '/api/v1/prompts/:name/metrics',
    {
      config: { permission: 'traces:read' },
      schema: {
        tags: ['traces'],
        summary:
          'Per-sha (or label, arm, tenant) time buckets: count, error rate, latency percentiles, tokens, cost, scores; label moves as markers',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            by: { type: 'string', enum: ['sha', 'label', 'arm', 'tenant'], default: 'sha' },
            since: { type: 'string', minLength: 1, maxLength: 40, default: '24h' },
            until: { type: 'string', minLength: 1, maxLength: 40 },
            bucket: { type: 'string', minLength: 2, maxLength: 10, default: '1h' },
            rollout: { type: 'string', minLength: 1, maxLength: 200, description: "only this rollout's traces" },
          },
        },
      },
    },
    async (request) => {
      const { by, since, until, bucket, rollout } = request.query;
      return service.metrics(requireActor(request.actor), request.params.name, {
        by,
        since,
        bucket,
        ...(until === undefined ? {} : { until }),
        ...(rollout === undefined ? {} : { rollout }),
      });
    },
  );
};

export const traceRoutes = (service: TraceService, limits: IngestLimits) => async (app: FastifyInstance) => {
  await app.register(ingestRoutes(service, limits));
  await app.register(queryRoutes(service));
};
