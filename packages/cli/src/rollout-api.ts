import type { ChangeRequestView, RolloutDetail, RolloutState, RolloutView, TargetingRule } from '@promptops/core';
import type { ApiClient } from './api-client.js';

/** Typed calls of the rollout routes (docs/api.md, "Rollouts"). */

export interface StartRolloutBody {
  readonly label: string;
  readonly candidate: string;
  readonly mode?: 'shadow' | 'split' | undefined;
  readonly steps?: readonly number[] | undefined;
  readonly minSamples?: number | undefined;
  readonly stepDuration?: string | undefined;
  readonly guardrails?: readonly string[] | undefined;
  readonly salt?: string | undefined;
  readonly reason?: string | undefined;
}

/** A rollout's plan as a change request carries it. */
export type RolloutPlanBody = Omit<StartRolloutBody, 'label' | 'candidate' | 'salt' | 'reason'>;

export type RolloutAction = 'pause' | 'resume' | 'advance' | 'abort';

const seg = (value: string): string => encodeURIComponent(value);

export const rolloutApi = (client: ApiClient) => ({
  start: (name: string, body: StartRolloutBody): Promise<RolloutView> =>
    client.request('POST', `/prompts/${seg(name)}/rollouts`, body),
  list: async (query: {
    prompt?: string | undefined;
    label?: string | undefined;
    state?: RolloutState | undefined;
    limit?: number | undefined;
  }): Promise<readonly RolloutView[]> =>
    (await client.request<{ rollouts: readonly RolloutView[] }>('GET', '/rollouts', undefined, query)).rollouts,
  /** A change request whose merge starts this rollout instead of moving the label. */
  propose: (body: {
    name: string;
    ref: string;
    label: string;
    message?: string | undefined;
    rollout: RolloutPlanBody;
  }): Promise<ChangeRequestView> => client.request('POST', '/reviews', body),
  show: (id: string): Promise<RolloutDetail> => client.request('GET', `/rollouts/${seg(id)}`),
  act: (id: string, action: RolloutAction | 'kill', reason?: string): Promise<RolloutView> =>
    client.request('POST', `/rollouts/${seg(id)}/${action}`, reason === undefined ? {} : { reason }),
  /** Sets (null: clears) the rollout's targeting rules. */
  setRules: (id: string, rules: readonly TargetingRule[] | null, reason?: string): Promise<RolloutView> =>
    client.request('PUT', `/rollouts/${seg(id)}/rules`, { rules, ...(reason === undefined ? {} : { reason }) }),
});
