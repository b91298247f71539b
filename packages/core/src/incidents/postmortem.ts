import { formatDuration, type IncidentFacts, type IncidentFigures, type TimelineEntry } from './timeline.js';

/** What a postmortem draft is written from: the incident's record and, when known, the diff that caused it. */
export interface PostmortemInput {
  readonly id: number;
  readonly title: string;
  readonly state: string;
  readonly facts: IncidentFacts;
  readonly timeline: readonly TimelineEntry[];
  readonly figures: IncidentFigures;
  /** A unified diff of the bad version against the one before it. */
  readonly diff?: string | null;
  /** The monitor conditions that fired, e.g. "score −0.1". */
  readonly conditions?: readonly string[];
}

const n = (value: number | null, digits = 3): string => (value === null ? '—' : String(Number(value.toFixed(digits))));
const pct = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(1)} %`);

/** A Markdown draft for people to finish: summary, timeline, impact, the cause, what would have caught it. */
export const renderPostmortem = (input: PostmortemInput): string => {
  const { facts, figures } = input;
  const intro = facts.introduced;
  const lines: string[] = [
    `# Incident ${input.id}: ${input.title}`,
    '',
    '## Summary',
    '',
    `${facts.name}:${facts.label} served ${intro === null ? 'a bad version' : `v${intro.version} (${intro.sha.slice(0, 12)})`}` +
      (intro === null ? '' : `, moved there by ${intro.actor} (${intro.kind}) at ${intro.at}`) +
      `. ${facts.detected === null ? `It was reported by ${facts.openedBy}` : `${facts.detected.by} detected it`} ` +
      `${formatDuration(figures.timeToDetectMs)} after the first bad trace; ` +
      (facts.mitigated === null
        ? 'it has not been mitigated yet.'
        : `${facts.mitigated.kind === 'auto-rollback' ? 'it was rolled back automatically' : `${facts.mitigated.actor} moved the label`} to v${facts.mitigated.version} ${formatDuration(figures.timeToMitigateMs)} after it.`) +
      ` State: ${input.state}.`,
    '',
    '## Timeline',
    '',
    '| Time (UTC) | Event | By | |',
    '| --- | --- | --- | --- |',
    ...input.timeline.map(
      (e) => `| ${e.at} | ${e.kind.replaceAll('_', ' ')} | ${e.actor ?? ''} | ${e.text.replaceAll('|', '\\|')} |`,
    ),
    '',
    '## Impact',
    '',
    `- Time to detect: ${formatDuration(figures.timeToDetectMs)}`,
    `- Time to mitigate: ${formatDuration(figures.timeToMitigateMs)}`,
    `- Time to recover: ${formatDuration(figures.timeToRecoverMs)}`,
    `- Traces affected: ${figures.tracesAffected} (${pct(figures.shareAffected)} of the label's traffic meanwhile)`,
    `- Mean score before / during / after: ${n(figures.scores.before)} / ${n(figures.scores.during)} / ${n(figures.scores.after)}`,
    '',
    '## Cause',
    '',
    input.diff
      ? ['```diff', input.diff.trimEnd(), '```'].join('\n')
      : '_The diff of the bad version against the previous one was not available._',
    '',
    '## What would have caught it',
    '',
    input.conditions && input.conditions.length > 0
      ? `- The monitor's conditions (${input.conditions.join(', ')}) as a rollout guardrail: \`promptops rollout start ${facts.name} --label ${facts.label}\` would have aborted on a small share of traffic.`
      : `- A rollout with guardrails on score and error rate: \`promptops rollout start ${facts.name} --label ${facts.label}\`.`,
    `- An eval suite required by the label's policy, with cases like the traces that scored low.`,
    '',
    '## Follow-ups',
    '',
    '- [ ] ',
    '',
  ];
  return lines.join('\n');
};
