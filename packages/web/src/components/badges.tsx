import type { DeploymentKind } from '../api/types';
import { dateTime, shortSha, timeAgo } from '../app/format';

/** A sha shown short, with the full value on hover and for copy. */
export const Sha = ({ sha }: { sha: string | null | undefined }) =>
  sha === null || sha === undefined ? (
    <span className="muted">–</span>
  ) : (
    <code className="sha" title={sha}>
      {shortSha(sha)}
    </code>
  );

const KNOWN_LABELS = new Set(['production', 'staging', 'latest']);

export const LabelChip = ({ label }: { label: string }) => (
  <span className={`chip chip-label ${KNOWN_LABELS.has(label) ? `chip-${label}` : ''}`}>{label}</span>
);

const KIND_TEXT: Record<DeploymentKind, string> = {
  promote: 'promote',
  rollback: 'rollback',
  push: 'push',
  'rollout-step': 'rollout step',
  'auto-rollback': 'auto-rollback',
  'break-glass': 'break glass',
  merge: 'merge',
  rollout: 'rollout',
};

export const KindBadge = ({ kind }: { kind: DeploymentKind }) => (
  <span className={`chip chip-kind chip-kind-${kind}`}>{KIND_TEXT[kind]}</span>
);

/** A relative time ("2 days ago") with the exact time for hover and screen readers. */
export const When = ({ at }: { at: string }) => (
  <time dateTime={at} title={dateTime(at)}>
    {timeAgo(at)}
  </time>
);
