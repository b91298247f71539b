import type { RolloutDetail, RolloutState, RolloutView } from '@promptops/core';
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
  show: (id: string): Promise<RolloutDetail> => client.request('GET', `/rollouts/${seg(id)}`),
  act: (id: string, action: RolloutAction, reason?: string): Promise<RolloutView> =>
    client.request('POST', `/rollouts/${seg(id)}/${action}`, reason === undefined ? {} : { reason }),
});
