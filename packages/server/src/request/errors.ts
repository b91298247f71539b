import { STATUS_BY_KIND, isPromptopsError, type FieldIssue } from '@promptops/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

interface ErrorBody {
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
  if (isPromptopsError(error)) {
    return send(reply, STATUS_BY_KIND[error.kind], error.toJSON() as unknown as ErrorBody);
  }
  if (error.validation) {
    const issues = validationIssues(error);
    return send(reply, 400, {
      code: 'invalid_request',
      message: `the request is invalid:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      issues,
      fix: 'correct the fields listed in issues (see GET /api/v1/openapi.json)',
    });
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    // The route's own limit (evals take 16 MiB), else the server's.
    const limit = sizeText(request.routeOptions.bodyLimit);
    return send(reply, 413, {
      code: 'too_large',
      message: `the request body is larger than this route's limit of ${limit}`,
      fix: `send at most ${limit} per request`,
      details: { limitBytes: request.routeOptions.bodyLimit },
    });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return send(reply, 415, {
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
  return send(reply, 500, { code: 'internal', message: 'internal error', details: { requestId: request.id } });
};
