import type { DriftReportListItem, DriftRequest, StoredDriftReport } from '@promptops/core';
import type { ApiClient } from './api-client.js';

/** Typed calls of the drift routes (docs/api.md, "Drift reports"). */

const seg = (value: string): string => encodeURIComponent(value);

export const driftApi = (client: ApiClient) => ({
  create: (request: DriftRequest): Promise<StoredDriftReport> => client.request('POST', '/drift', request),
  get: (id: string): Promise<StoredDriftReport> => client.request('GET', `/drift/${seg(id)}`),
  list: (name: string, limit = 20): Promise<{ reports: DriftReportListItem[]; next: string | null }> =>
    client.request('GET', `/prompts/${seg(name)}/drift`, undefined, { limit }),
});
