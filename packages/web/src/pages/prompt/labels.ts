import type { LabelRecord } from '../../api/types';

const RANK: Record<string, number> = { production: 0, staging: 1, latest: 99 };

/** production first, then staging, then other labels by name, `latest` last. */
export const labelOrder = (a: Pick<LabelRecord, 'label'>, b: Pick<LabelRecord, 'label'>): number =>
  (RANK[a.label] ?? 50) - (RANK[b.label] ?? 50) || a.label.localeCompare(b.label);

export const sortLabelNames = (labels: readonly string[]): string[] =>
  [...labels].sort((a, b) => labelOrder({ label: a }, { label: b }));
