import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { EvalService } from './service.js';

/** A run of a few thousand cases with their outputs is larger than the registry's 1 MiB default. */
export const RUN_BODY_LIMIT = 16 * 1024 * 1024;

const runIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'run id' } },
} as const;

const suiteNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'suite name, URL-encoded' } },
} as const;

interface RunQuery {
  prompt?: string;
  sha?: string;
  suite?: string;
  limit: number;
  before?: string;
}

interface GateQuery {
  ref: string;
  label: string;
  suite: string[];
}

export const evalRoutes = (evals: EvalService) => async (app: FastifyInstance) => {
  app.post<{ Body: { content: unknown; message?: string } }>(
    '/api/v1/evals/suites',
    {
      config: { permission: 'suites:write' },
      bodyLimit: RUN_BODY_LIMIT,
      schema: {
        tags: ['evals'],
        summary:
          'Push an eval suite version (content-addressed; idempotent on content; versions count per prompt and name)',
        body: {
          type: 'object',
          required: ['content'],
          additionalProperties: false,
          properties: {
            content: {
              type: 'object',
              description: 'EvalSuiteContent: { name, prompt, provider, threshold, passRate, cases }',
            },
            message: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { content, message } = request.body;
      const result = await evals.pushSuite(requireActor(request.actor), {
        content,
        ...(message === undefined ? {} : { message }),
      });
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.get(
    '/api/v1/evals/suites',
    {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'Eval suites: the newest version of each (prompt, name)' },
    },
    async (request) => ({ suites: await evals.listSuites(requireActor(request.actor)) }),
  );

  app.get<{ Params: { name: string }; Querystring: { prompt?: string } }>(
    '/api/v1/evals/suites/:name',
    {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Versions of the suites of this name (suites are per prompt): by prompt, newest first',
        params: suiteNameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { prompt: { type: 'string', minLength: 1, maxLength: 200, description: 'only this prompt’s' } },
        },
      },
    },
    async (request) => evals.suiteVersions(requireActor(request.actor), request.params.name, request.query.prompt),
  );

  app.post<{ Body: unknown }>(
    '/api/v1/evals/runs',
    {
      // Results count for the gate only when a key allowed to write them records them.
      config: { permission: 'evals:write' },
      bodyLimit: RUN_BODY_LIMIT,
      schema: {
        tags: ['evals'],
        summary:
          'Record an eval run (EvalRunInput; suite.content registers its suite in the same transaction); the server re-scores it and computes passed and summary',
        body: { type: 'object', description: 'EvalRunInput' },
      },
    },
    async (request, reply) => reply.code(201).send(await evals.recordRun(requireActor(request.actor), request.body)),
  );

  app.get<{ Querystring: RunQuery }>(
    '/api/v1/evals/runs',
    {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Recorded runs, newest first (without their cases)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            prompt: { type: 'string', minLength: 1, maxLength: 200 },
            sha: { type: 'string', pattern: '^[0-9a-f]{7,64}$' },
            suite: { type: 'string', minLength: 1, maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
      },
    },
    async (request) => {
      const { prompt, sha, suite, limit, before } = request.query;
      return evals.listRuns(
        requireActor(request.actor),
        {
          ...(prompt === undefined ? {} : { prompt }),
          ...(sha === undefined ? {} : { sha }),
          ...(suite === undefined ? {} : { suite }),
        },
        before === undefined ? { limit } : { limit, before: Number(before) },
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/evals/runs/:id',
    {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'One run with every case', params: runIdParams },
    },
    async (request) => evals.getRun(requireActor(request.actor), request.params.id),
  );

  app.get<{ Params: { id: string; baseId: string } }>(
    '/api/v1/evals/runs/:id/compare/:baseId',
    {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Compare run :id (candidate) with :baseId: regressions (pass -> fail) and fixes (fail -> pass)',
        params: {
          type: 'object',
          required: ['id', 'baseId'],
          properties: { ...runIdParams.properties, baseId: { type: 'string', pattern: '^[0-9]{1,15}$' } },
        },
      },
    },
    async (request) => evals.compare(requireActor(request.actor), request.params.id, request.params.baseId),
  );

  app.get<{ Params: { name: string }; Querystring: GateQuery }>(
    '/api/v1/prompts/:name/gate',
    {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Eval gate verdict: may REF move to LABEL? (each suite: passed, failed, regressed or missing)',
        params: nameParams,
        querystring: {
          type: 'object',
          required: ['ref', 'label', 'suite'],
          additionalProperties: false,
          properties: {
            ref: { type: 'string', minLength: 1, maxLength: 64 },
            label: { type: 'string', minLength: 1, maxLength: 63 },
            suite: {
              type: 'array',
              items: { type: 'string', minLength: 1, maxLength: 200 },
              minItems: 1,
              maxItems: 50,
              description: 'a required suite; repeat for several',
            },
          },
        },
      },
    },
    async (request) => {
      const { ref, label, suite } = request.query;
      return evals.gate(requireActor(request.actor), request.params.name, {
        ref,
        label,
        suites: [...new Set(suite)].map((name) => ({ suite: name })),
      });
    },
  );
};
