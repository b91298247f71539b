import {
  RETRY_AFTER_KINDS,
  STATUS_BY_KIND,
  isPromptopsError,
  type ErrorKind,
  type FieldIssue,
  type PromptopsError,
} from '@promptops/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  code: string;
  message: string;
  fix?: string;
  issues?: readonly FieldIssue[];
  details?: Record<string, unknown>;
}

/** 1048576 -> "1 MiB"; a limit that is not whole MiB in KiB, else bytes. */
const sizeText = (bytes: number): string =>
  bytes % (1024 * 1024) === 0
    ? `${bytes / 1024 / 1024} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;

const send = (reply: FastifyReply, status: number, body: ErrorBody): FastifyReply =>
  reply.code(status).send({ error: body });

/** When a refusal that names no delay may be retried. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * Sends an error body with its kind's status. A `rate_limited` or `unavailable` answer also carries
 * `Retry-After`: the seconds given, else the error's `details.retryAfterSeconds`, else 1.
 */
export const sendError = (
  reply: FastifyReply,
  kind: ErrorKind,
  body: ErrorBody,
  retryAfterSeconds?: number,
): FastifyReply => {
  if (RETRY_AFTER_KINDS.has(kind)) {
    const fromDetails = body.details?.['retryAfterSeconds'];
    const seconds = retryAfterSeconds ?? (typeof fromDetails === 'number' ? fromDetails : DEFAULT_RETRY_AFTER_SECONDS);
    void reply.header('retry-after', String(seconds));
  }
  return send(reply, STATUS_BY_KIND[kind], body);
};

/** A PromptopsError as the answer (see sendError). */
export const replyWithError = (reply: FastifyReply, error: PromptopsError, retryAfterSeconds?: number): FastifyReply =>
  sendError(reply, error.kind, error.toJSON() as unknown as ErrorBody, retryAfterSeconds);

const validationIssues = (error: FastifyError): FieldIssue[] =>
  (error.validation ?? []).map((item) => {
    const base = item.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const missing = (item.params as { missingProperty?: string }).missingProperty;
    const extra = (item.params as { additionalProperty?: string }).additionalProperty;
    const field = [error.validationContext, base, missing ?? extra].filter(Boolean).join('.');
    const message =
      extra !== undefined
        ? `unknown field "${extra}"`
        : missing !== undefined
          ? 'is required'
          : (item.message ?? 'is invalid');
    return { path: field, message };
  });

/** Known errors carry their kind's status; anything unknown becomes a logged 500 that leaks nothing. */
export const errorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
  if (isPromptopsError(error)) return replyWithError(reply, error);
  if (error.validation) {
    const issues = validationIssues(error);
    return sendError(reply, 'invalid', {
      code: 'invalid_request',
      message: `the request is invalid:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      issues,
      fix: 'correct the fields listed in issues (see GET /api/v1/openapi.json)',
    });
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    // The route's own limit (evals take 16 MiB), else the server's.
    const limit = sizeText(request.routeOptions.bodyLimit);
    return sendError(reply, 'too_large', {
      code: 'too_large',
      message: `the request body is larger than this route's limit of ${limit}`,
      fix: `send at most ${limit} per request`,
      details: { limitBytes: request.routeOptions.bodyLimit },
    });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return sendError(reply, 'unsupported_media_type', {
      code: 'unsupported_media_type',
      message: 'the request body must be JSON',
      fix: 'send Content-Type: application/json',
    });
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    const code =
      error instanceof SyntaxError || (error.code ?? '').startsWith('FST_ERR_CTP_')
        ? 'invalid_json'
        : 'invalid_request';
    return send(reply, error.statusCode, { code, message: error.message, fix: 'send a well-formed JSON body' });
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 'internal', {
    code: 'internal',
    message: 'internal error',
    details: { requestId: request.id },
  });
};
