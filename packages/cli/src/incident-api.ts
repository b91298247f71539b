import type { IncidentFacts, IncidentFigures, MonitorConfig, TimelineEntry } from '@promptops/core';
import type { ApiClient } from './api-client.js';

/** Typed calls of the incident and monitor routes (docs/api.md, "Incidents and monitors"). */

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

export interface Incident {
  readonly id: number;
  readonly promptName: string;
  readonly label: string;
  readonly title: string;
  readonly state: IncidentState;
  readonly monitorId: number | null;
  readonly badSha: string | null;
  readonly openedBy: string;
  readonly openedAt: string;
  readonly updatedAt: string;
}

export interface IncidentDetail {
  readonly incident: Incident & { readonly detection: unknown };
  readonly facts: IncidentFacts;
  readonly conditions: readonly string[];
  readonly timeline: readonly TimelineEntry[];
  readonly figures: IncidentFigures;
}

/** A monitor as the server stores it: `config` is its settings as JSON text. */
export interface Monitor {
  readonly id: number;
  readonly promptName: string;
  readonly label: string;
  readonly config: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastFiredAt: string | null;
  readonly lastLookedAt: string | null;
  readonly lastReason: string | null;
}

const seg = (value: string): string => encodeURIComponent(value);

export const incidentApi = (client: ApiClient) => ({
  open: (body: { name: string; label: string; message: string }): Promise<Incident> =>
    client.request('POST', '/incidents', body),
  list: async (state?: IncidentState): Promise<readonly Incident[]> =>
    (await client.request<{ incidents: readonly Incident[] }>('GET', '/incidents', undefined, { state })).incidents,
  show: (id: number): Promise<IncidentDetail> => client.request('GET', `/incidents/${id}`),
  ack: async (id: number): Promise<Incident> =>
    (await client.request<{ incident: Incident }>('POST', `/incidents/${id}/ack`, {})).incident,
  resolve: async (id: number, message?: string): Promise<Incident> =>
    (
      await client.request<{ incident: Incident }>(
        'POST',
        `/incidents/${id}/resolve`,
        message === undefined ? {} : { message },
      )
    ).incident,
  postmortem: (id: number): Promise<string> => client.requestText('GET', `/incidents/${id}/postmortem`),
  monitors: async (name: string): Promise<readonly Monitor[]> =>
    (await client.request<{ monitors: readonly Monitor[] }>('GET', `/prompts/${seg(name)}/monitors`)).monitors,
  addMonitor: (name: string, body: { label: string; config: Partial<MonitorConfig> }): Promise<Monitor> =>
    client.request('POST', `/prompts/${seg(name)}/monitors`, body),
  // 204 without a body: read as text.
  removeMonitor: async (name: string, id: number): Promise<void> => {
    await client.requestText('DELETE', `/prompts/${seg(name)}/monitors/${id}`);
  },
});
