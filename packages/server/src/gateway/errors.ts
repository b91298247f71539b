import { RETRY_AFTER_KINDS, STATUS_BY_KIND, isPromptopsError, type ErrorKind, type FieldIssue } from '@promptops/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The gateway answers its own errors in OpenAI's shape, `{ error: { message, type, param, code } }`, so
 * OpenAI clients read them as they read OpenAI's; promptops' `fix` and `issues` ride along (clients ignore
 * unknown fields). Upstream errors never come here: they pass through as the upstream sent them.
 */

export interface OpenAiErrorBody {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string;
  readonly fix?: string;
  readonly issues?: readonly FieldIssue[];
}

/** OpenAI's error `type` for each kind. */
const TYPE_BY_KIND: Readonly<Record<ErrorKind, string>> = {
  invalid: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'invalid_request_error',
  conflict: 'invalid_request_error',
  unprocessable: 'invalid_request_error',
  too_large: 'invalid_request_error',
  timeout: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  rate_limited: 'rate_limit_error',
  internal: 'server_error',
  unavailable: 'server_error',
};

const paramOf = (issues: readonly FieldIssue[] | undefined, fallback: string | null): string | null =>
  issues?.[0]?.path.replace(/^body\./, '') || fallback;

export const sendOpenAiError = (
  reply: FastifyReply,
  kind: ErrorKind,
  error: { code: string; message: string; fix?: string | undefined; issues?: readonly FieldIssue[] | undefined },
  param: string | null = null,
  retryAfterSeconds?: number,
): FastifyReply => {
  if (RETRY_AFTER_KINDS.has(kind)) void reply.header('retry-after', String(retryAfterSeconds ?? 1));
  const body: OpenAiErrorBody = {
    message: error.message,
    type: TYPE_BY_KIND[kind],
    param: paramOf(error.issues, param),
    code: error.code,
    ...(error.fix === undefined ? {} : { fix: error.fix }),
    ...(error.issues === undefined ? {} : { issues: error.issues }),
  };
  return reply.code(STATUS_BY_KIND[kind]).type('application/json').send({ error: body });
};

/** The gateway's error handler: authentication, validation and its own errors, all in OpenAI's shape. */
export const gatewayErrorHandler = (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply => {
  if (isPromptopsError(error)) {
    const retry = error.details?.['retryAfterSeconds'];
    return sendOpenAiError(reply, error.kind, error, null, typeof retry === 'number' ? retry : undefined);
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return sendOpenAiError(reply, 'too_large', {
      code: 'too_large',
      message: `the request body is larger than this route's limit of ${request.routeOptions.bodyLimit} bytes`,
      fix: 'send a smaller body',
    });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return sendOpenAiError(reply, 'unsupported_media_type', {
      code: 'unsupported_media_type',
      message: 'the request body must be JSON',
      fix: 'send Content-Type: application/json',
    });
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    const json = error instanceof SyntaxError || (error.code ?? '').startsWith('FST_ERR_CTP_');
    return sendOpenAiError(reply, 'invalid', {
      code: json ? 'invalid_json' : 'invalid_request',
      message: error.message,
      fix: 'send a well-formed JSON body',
    });
  }
  request.log.error({ err: error }, 'gateway: unhandled error');
  return sendOpenAiError(reply, 'internal', { code: 'internal', message: `internal error (request ${request.id})` });
};
