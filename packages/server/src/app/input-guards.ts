import { PromptopsError, formatIssues, inputIssues } from '@promptops/core';
import type { FastifyRequest } from 'fastify';

/**
 * Request bodies nest at most this many levels: zod, hashing and YAML output recurse, and a body nested
 * thousands deep overflowed the stack (a 500). Prompt content has its own, tighter bound inside `content`.
 */
export const MAX_BODY_DEPTH = 128;

/** Parsed JSON only: an ingest route's raw bytes (a Buffer or its wrapper) are checked where they are parsed. */
const isParsedJson = (value: unknown): boolean => {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * A preHandler for every route, after schema validation (which coerces query numbers): refuses what JSON
 * schema lets through but storage and hashing cannot take. A lone surrogate in any text (the audit chain
 * hashes every field, and UTF-8 cannot encode it), a number that is not finite (ajv passes `limit=1e309` as
 * Infinity), and bodies nested deeper than MAX_BODY_DEPTH. Each issue names the field.
 */
export const refuseMalformedInput = async (request: FastifyRequest): Promise<void> => {
  const issues = [
    ...inputIssues(request.query, ['querystring'], MAX_BODY_DEPTH),
    ...inputIssues(request.params, ['params'], MAX_BODY_DEPTH),
    ...(isParsedJson(request.body) ? inputIssues(request.body, ['body'], MAX_BODY_DEPTH) : []),
  ];
  if (issues.length === 0) return;
  throw new PromptopsError('invalid', 'invalid_request', `the request is invalid:\n${formatIssues(issues)}`, {
    issues,
    fix: 'correct the fields listed in issues: well-formed Unicode text, finite numbers, JSON nested at most 128 levels',
  });
};
