import { PromptopsError } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import type { VerifyReads } from './verify.js';
import type { AuditKeyring } from './keyring.js';
import type { AuditPage, AuditService } from './service.js';
import { verifyProject } from './verify.js';

interface AgainstQuery {
  readonly againstSeq?: number;
  readonly againstHash?: string;
  readonly againstSignature?: string;
  readonly againstProject?: string;
}

const HEX64 = '^[0-9a-f]{64}$';

/** The exported head a verify is asked to check, or undefined; a half-given head is refused. */
const againstOf = (query: AgainstQuery, projectName: string) => {
  const { againstSeq: seq, againstHash: hash, againstSignature: signature, againstProject: project } = query;
  if (seq === undefined && hash === undefined && signature === undefined && project === undefined) return undefined;
  if (seq === undefined || hash === undefined) {
    const missing = seq === undefined ? 'againstSeq' : 'againstHash';
    throw new PromptopsError('invalid', 'invalid_request', `${missing} is required to verify against a head`, {
      fix: 'pass the seq and hash of a head written by `promptops verify --export-head FILE`',
      issues: [{ path: missing, message: 'is required with the other against* parameters' }],
    });
  }
  if (project !== undefined && project !== projectName) {
    throw new PromptopsError(
      'invalid',
      'head_other_project',
      `the head is of project "${project}", but this key belongs to project "${projectName}"`,
      { fix: `verify it with a key of project "${project}", or use this project's head file` },
    );
  }
  return { seq, hash, ...(signature === undefined ? {} : { signature }) };
};

export const auditRoutes =
  (audit: AuditService, stores: VerifyReads, keyring?: AuditKeyring) => async (app: FastifyInstance) => {
    app.get<{ Querystring: AuditPage }>(
      '/api/v1/audit',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary:
            'The hash-chained audit log, oldest first (or newest first with order=desc), optionally by actor or prompt',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              after: { type: 'integer', minimum: 0 },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
              order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
              before: { type: 'integer', minimum: 1, description: 'newest first: entries below this seq' },
              actor: { type: 'string', minLength: 1, maxLength: 200, description: 'only entries by this actor' },
              prompt: { type: 'string', minLength: 1, maxLength: 200, description: "only this prompt's entries" },
            },
          },
        },
      },
      async (request) => audit.list(requireActor(request.actor), request.query),
    );

    app.get<{ Querystring: AgainstQuery }>(
      '/api/v1/verify',
      {
        config: { permission: 'audit:verify' },
        schema: {
          tags: ['audit'],
          summary:
            'Recompute every sha, re-walk the audit chain (and its HMACs), compare every row with its audit entry, and optionally check that the chain extends a head exported earlier',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              againstSeq: { type: 'integer', minimum: 1, description: "an exported head's seq" },
              againstHash: { type: 'string', pattern: HEX64, description: "an exported head's hash" },
              againstSignature: { type: 'string', pattern: HEX64, description: "an exported head's signature" },
              againstProject: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description: "an exported head's project",
              },
            },
          },
        },
      },
      async (request) => {
        const actor = requireActor(request.actor);
        const against = againstOf(request.query, actor.projectName);
        return verifyProject(stores, actor.projectId, { keyring, against });
      },
    );
  };
