import type { ChangeRequestStatus } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { BlameService } from './blame.js';
import type { PolicyInput, PolicyService } from './policies.js';
import type { ReviewService } from './service.js';
import { strictBody } from './strict-body.js';
import type { RolloutPlanInput } from '../rollouts/plan.js';
import { rolloutPlanSchema } from '../rollouts/routes.js';

const labelParams = {
  type: 'object',
  required: ['label'],
  properties: { label: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const;
const teamParams = {
  type: 'object',
  required: ['team'],
  properties: { team: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;
const text = { type: 'string', maxLength: 2000 } as const;
const ref = { type: 'string', minLength: 1, maxLength: 64 } as const;
const pattern = { type: 'string', minLength: 1, maxLength: 200 } as const;
const nameList = { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 100 } } as const;

const body = <P extends Record<string, unknown>>(properties: P, required: readonly string[] = []) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

/** Policies, owners and teams: read by anyone, changed by admins, every change audited. */
export const policyRoutes = (policies: PolicyService) => async (app: FastifyInstance) => {
  const policyFields = {
    pattern,
    protected: { type: 'boolean' },
    approvals: { type: 'integer', minimum: 0, maximum: 10 },
    minRole: { type: 'string', enum: ['reviewer', 'deployer', 'admin'] },
    owners: nameList,
    codeOwners: { type: 'boolean' },
    suites: {
      type: 'array',
      maxItems: 50,
      items: body(
        {
          suite: { type: 'string', minLength: 1, maxLength: 200 },
          passRate: { type: 'number', minimum: 0, maximum: 1 },
        },
        ['suite'],
      ),
    },
    authorMayApprove: { type: 'boolean' },
    // Checked by name in policySpec (core's checkNoDrift), so an unknown descriptor is named in the 400.
    noDrift: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 120 } },
    tenantSelfService: { type: 'boolean' },
  } as const;

  app.get<{ Querystring: { label?: string } }>(
    '/api/v1/policies',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['reviews'],
        summary: 'Every label policy of the project',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { label: labelParams.properties.label },
        },
      },
    },
    async (request) => ({ policies: await policies.list(requireActor(request.actor), request.query.label) }),
  );

  app.get<{ Params: { label: string }; Querystring: { prompt?: string } }>(
    '/api/v1/policies/:label',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['reviews'],
        summary: "A label's policies, and with ?prompt= the one that governs that prompt",
        params: labelParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { prompt: nameParams.properties.name },
        },
      },
    },
    async (request) => {
      const actor = requireActor(request.actor);
      const { label } = request.params;
      const list = await policies.list(actor, label);
      const { prompt } = request.query;
      return prompt === undefined
        ? { label, policies: list }
        : { label, policies: list, prompt, effective: await policies.effective(actor, label, prompt) };
    },
  );

  app.put<{ Params: { label: string }; Body: PolicyInput }>(
    '/api/v1/policies/:label',
    {
      config: { permission: 'policies:write' },
      preValidation: strictBody(Object.keys(policyFields)),
      schema: {
        tags: ['reviews'],
        summary: "Set a label's policy (for every prompt, or those a pattern matches); omitted fields take defaults",
        params: labelParams,
        body: body(policyFields),
      },
    },
    async (request) => policies.set(requireActor(request.actor), request.params.label, request.body ?? {}),
  );

  app.delete<{ Params: { label: string }; Querystring: { pattern?: string } }>(
    '/api/v1/policies/:label',
    {
      config: { permission: 'policies:write' },
      schema: {
        tags: ['reviews'],
        summary: "Delete a label's policy for a pattern (default *)",
        params: labelParams,
        querystring: { type: 'object', additionalProperties: false, properties: { pattern } },
      },
    },
    async (request) => policies.remove(requireActor(request.actor), request.params.label, request.query.pattern),
  );

  app.get(
    '/api/v1/owners',
    {
      config: { permission: 'policies:read' },
      schema: { tags: ['reviews'], summary: 'Owners by prompt name pattern' },
    },
    async (request) => ({ owners: await policies.listOwners(requireActor(request.actor)) }),
  );

  app.put<{ Body: { pattern: string; owners: string[] } }>(
    '/api/v1/owners',
    {
      config: { permission: 'policies:write' },
      preValidation: strictBody(['pattern', 'owners']),
      schema: {
        tags: ['reviews'],
        summary: 'Set the owners (users or teams) of the prompts a pattern matches',
        body: body({ pattern, owners: nameList }, ['pattern', 'owners']),
      },
    },
    async (request) => policies.setOwners(requireActor(request.actor), request.body.pattern, request.body.owners),
  );

  app.delete<{ Querystring: { pattern: string } }>(
    '/api/v1/owners',
    {
      config: { permission: 'policies:write' },
      schema: {
        tags: ['reviews'],
        summary: 'Delete the owners rule of a pattern',
        querystring: { type: 'object', additionalProperties: false, required: ['pattern'], properties: { pattern } },
      },
    },
    async (request) => policies.removeOwners(requireActor(request.actor), request.query.pattern),
  );

  app.get(
    '/api/v1/teams',
    { config: { permission: 'policies:read' }, schema: { tags: ['reviews'], summary: 'Teams and their members' } },
    async (request) => ({ teams: await policies.listTeams(requireActor(request.actor)) }),
  );

  app.put<{ Params: { team: string }; Body: { members: string[] } }>(
    '/api/v1/teams/:team',
    {
      config: { permission: 'policies:write' },
      preValidation: strictBody(['members']),
      schema: {
        tags: ['reviews'],
        summary: "Set a team's members (user names)",
        params: teamParams,
        body: body({ members: nameList }, ['members']),
      },
    },
    async (request) => policies.setTeam(requireActor(request.actor), request.params.team, request.body.members),
  );

  app.delete<{ Params: { team: string } }>(
    '/api/v1/teams/:team',
    {
      config: { permission: 'policies:write' },
      schema: { tags: ['reviews'], summary: 'Delete a team', params: teamParams },
    },
    async (request) => policies.removeTeam(requireActor(request.actor), request.params.team),
  );
};

interface IdParams {
  id: number;
}

/** Change requests and blame. */
export const reviewRoutes = (reviews: ReviewService, blame: BlameService) => async (app: FastifyInstance) => {
  app.get<{
    Querystring: { status?: ChangeRequestStatus; name?: string; label?: string; limit?: number; before?: number };
  }>(
    '/api/v1/reviews',
    {
      config: { permission: 'reviews:read' },
      schema: {
        tags: ['reviews'],
        summary: 'Change requests, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['open', 'merged', 'closed'] },
            name: nameParams.properties.name,
            label: labelParams.properties.label,
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            before: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (request) => reviews.list(requireActor(request.actor), request.query),
  );

  app.post<{ Body: { name: string; ref: string; label: string; message?: string; rollout?: RolloutPlanInput } }>(
    '/api/v1/reviews',
    {
      config: { permission: 'reviews:open' },
      preValidation: strictBody(['name', 'ref', 'label', 'message', 'rollout']),
      schema: {
        tags: ['reviews'],
        summary:
          'Open a change request: move LABEL of NAME to REF once approved, or with `rollout` start that rollout of REF on LABEL when merged',
        body: body(
          {
            name: nameParams.properties.name,
            ref,
            label: labelParams.properties.label,
            message: text,
            rollout: { type: 'object', additionalProperties: false, properties: rolloutPlanSchema },
          },
          ['name', 'ref', 'label'],
        ),
      },
    },
    async (request, reply) => {
      const { name, ref: to, label, message, rollout } = request.body;
      const view = await reviews.open(requireActor(request.actor), {
        name,
        ref: to,
        label,
        ...(message === undefined ? {} : { message }),
        ...(rollout === undefined ? {} : { rollout }),
      });
      return reply.code(201).send(view);
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/v1/reviews/:id',
    {
      config: { permission: 'reviews:read' },
      schema: { tags: ['reviews'], summary: 'A change request: diff, checks and timeline', params: idParams },
    },
    async (request) => reviews.view(requireActor(request.actor), request.params.id),
  );

  const verdict = (action: 'approve' | 'reject') =>
    app.post<{ Params: IdParams; Body: { comment?: string; sha?: string } | undefined }>(
      `/api/v1/reviews/:id/${action}`,
      {
        config: { permission: 'reviews:approve' },
        preValidation: strictBody(['comment', 'sha']),
        schema: {
          tags: ['reviews'],
          summary:
            action === 'approve'
              ? 'Approve (one approval per person; not the author unless the policy allows)'
              : 'Reject (blocks the merge until the same person approves)',
          params: idParams,
          body: body({ comment: text, sha: { type: 'string', pattern: '^[0-9a-f]{64}$' } }),
        },
      },
      async (request) => {
        const { comment, sha } = request.body ?? {};
        const input = { ...(comment === undefined ? {} : { comment }), ...(sha === undefined ? {} : { sha }) };
        const actor = requireActor(request.actor);
        return action === 'approve'
          ? reviews.approve(actor, request.params.id, input)
          : reviews.reject(actor, request.params.id, input);
      },
    );
  verdict('approve');
  verdict('reject');

  app.post<{ Params: IdParams; Body: { ref?: string; comment?: string } | undefined }>(
    '/api/v1/reviews/:id/update',
    {
      config: { permission: 'reviews:open' },
      preValidation: strictBody(['ref', 'comment']),
      schema: {
        tags: ['reviews'],
        summary: "Propose another version (or re-base on the label's current one); earlier approvals no longer count",
        params: idParams,
        body: body({ ref, comment: text }),
      },
    },
    async (request) => {
      const { ref: to, comment } = request.body ?? {};
      return reviews.update(requireActor(request.actor), request.params.id, {
        ...(to === undefined ? {} : { ref: to }),
        ...(comment === undefined ? {} : { comment }),
      });
    },
  );

  for (const action of ['merge', 'close'] as const) {
    app.post<{ Params: IdParams; Body: { comment?: string } | undefined }>(
      `/api/v1/reviews/:id/${action}`,
      {
        config: { permission: action === 'merge' ? 'reviews:merge' : 'reviews:open' },
        preValidation: strictBody(['comment']),
        schema: {
          tags: ['reviews'],
          summary:
            action === 'merge'
              ? 'Merge: move the label, only when every check passes (409 when the label moved)'
              : 'Close (abandon) the change request',
          params: idParams,
          body: body({ comment: text }),
        },
      },
      async (request) => {
        const { comment } = request.body ?? {};
        const input = comment === undefined ? {} : { comment };
        const actor = requireActor(request.actor);
        return action === 'merge'
          ? reviews.merge(actor, request.params.id, input)
          : reviews.close(actor, request.params.id, input);
      },
    );
  }

  app.get<{ Params: { name: string }; Querystring: { label?: string; ref?: string } }>(
    '/api/v1/prompts/:name/blame',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['reviews'],
        summary: 'Which version, author and change request introduced each line (default: what production serves)',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { label: labelParams.properties.label, ref },
        },
      },
    },
    async (request) => {
      const { label, ref: at } = request.query;
      return blame.blame(requireActor(request.actor), request.params.name, {
        ...(label === undefined ? {} : { label }),
        ...(at === undefined ? {} : { ref: at }),
      });
    },
  );
};
