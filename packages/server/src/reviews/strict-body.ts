import { PromptopsError } from '@promptops/core';
import type { FastifyRequest } from 'fastify';

/** Fields the server sets itself; a body that names one is refused, never applied (no mass assignment). */
const SERVER_OWNED = new Set([
  'author',
  'status',
  'approvals',
  'approvedBy',
  'actor',
  'project',
  'projectId',
  'role',
  'id',
  'createdAt',
  'updatedAt',
  'deploymentId',
  'mergedBy',
]);

/**
 * A preValidation hook: a body field the route does not take is a 400 naming it (JSON schema's
 * `additionalProperties: false` would silently drop it instead, under Fastify's default `removeAdditional`).
 */
export const strictBody =
  (allowed: readonly string[]) =>
  async (request: FastifyRequest): Promise<void> => {
    const body = request.body;
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) return;
    const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
    if (unknown.length === 0) return;
    throw new PromptopsError(
      'invalid',
      'invalid_request',
      `the body has field${unknown.length === 1 ? '' : 's'} this request does not take: ${unknown.join(', ')}`,
      {
        fix: `send only ${allowed.join(', ')}`,
        issues: unknown.map((field) => ({
          path: field,
          message: SERVER_OWNED.has(field) ? 'is set by the server and cannot be sent' : `unknown field "${field}"`,
        })),
      },
    );
  };
