import {
  armMetrics,
  formatArmFigure,
  formatDifference,
  formatMetricValue,
  formatPassRate,
  rampHistory,
  shortSha,
  signedFigure,
  type GuardrailStatus,
  type RolloutDecisionView,
  type RolloutDetail,
  type RolloutView,
  type TargetingCondition,
  type TargetingRule,
} from '@promptops/core';
import { formatTime, versionRef, type Colors, type Output } from './output.js';

/** The human views of `promptops rollout …`. */

const conditionText = (c: TargetingCondition): string =>
  `${c.attribute} ${c.op} ${c.op === 'in' || c.op === 'not_in' ? `[${c.values.join(', ')}]` : JSON.stringify(c.values[0])}`;

/** A rollout's rule, or a label's own (serving a version: by number, or as the snapshot carries it). */
type AnyRule =
  | TargetingRule
  | {
      readonly name?: string;
      readonly when: TargetingRule['when'];
      readonly serve: { readonly label: string } | { readonly version: number | { readonly version: number } };
    };

/** One rule on one line: `"name": tenant in [acme] → the candidate`. */
export const ruleText = (rule: AnyRule): string => {
  const when = rule.when.length === 0 ? 'everyone' : rule.when.map(conditionText).join(' and ');
  const serve =
    'label' in rule.serve
      ? `label ${rule.serve.label}`
      : 'version' in rule.serve
        ? `v${typeof rule.serve.version === 'number' ? rule.serve.version : rule.serve.version.version}`
        : 'arm' in rule.serve
          ? `the ${rule.serve.arm}`
          : `${rule.serve.percentage} % to the candidate`;
  return `${rule.name === undefined ? '' : `"${rule.name}": `}${when} → ${serve}`;
};

const MINUTE = 60_000;

/** 600000 → "10m", 90000 → "90s". */
export const durationText = (ms: number): string =>
  ms % (60 * MINUTE) === 0 && ms > 0
    ? `${ms / (60 * MINUTE)}h`
    : ms % MINUTE === 0 && ms > 0
      ? `${ms / MINUTE}m`
      : ms % 1000 === 0
        ? `${ms / 1000}s`
        : `${ms}ms`;

const stateText = (state: RolloutView['state'], c: Colors): string =>
  state === 'running'
    ? c.green(state)
    : state === 'paused'
      ? c.yellow(state)
      : state === 'aborted'
        ? c.red(state)
        : state === 'completed'
          ? c.cyan(state)
          : state;

/** `ro_… customer_support_greeter production shadow [running] 5 % (step 2 of 5)`. */
export const rolloutHeadline = (r: RolloutView, c: Colors): string => {
  const active = r.state === 'running' || r.state === 'paused';
  const where = active ? ` ${r.ramp} % (step ${r.stepIndex + 1} of ${r.steps.length})` : '';
  return `${c.bold(r.id)} ${r.name} ${c.green(r.label)} ${r.mode} [${stateText(r.state, c)}]${where}`;
};

/** The plan in one line: steps, what each needs, guardrails. */
export const planText = (r: Pick<RolloutView, 'steps' | 'config'>): string => {
  const { config } = r;
  const guards =
    config.guardrails.length === 0
      ? 'no guardrails'
      : `guardrails ${config.guardrails.map((g) => `${g.metric} ${signedFigure(g.threshold)}`).join(', ')}`;
  return `steps ${r.steps.join(', ')} %; each at least ${durationText(config.minStepDurationMs)} and ${config.minSamplesPerArm} samples per arm; ${guards}; alpha ${config.alpha}`;
};

const baselineText = (r: RolloutView, c: Colors): string =>
  r.baselineSha === null ? '(none)' : c.yellow(shortSha(r.baselineSha));

export const printRolloutLine = (r: RolloutView, out: Output): void => {
  const c = out.colors;
  out.line(rolloutHeadline(r, c));
  out.line(
    `  ${r.label}: ${baselineText(r, c)} (baseline) vs ${versionRef(r.candidate.version, r.candidate.sha, c)} (candidate)`,
  );
  if (r.reason !== null) out.line(`  reason: ${r.reason}`);
};

const STATUS_MARK: Record<GuardrailStatus, string> = { ok: '✓', fail: '✗', signal: '!', insufficient: '…' };

const mark = (status: GuardrailStatus, c: Colors): string =>
  status === 'ok'
    ? c.green(STATUS_MARK.ok)
    : status === 'fail'
      ? c.red(STATUS_MARK.fail)
      : status === 'signal'
        ? c.yellow(STATUS_MARK.signal)
        : c.dim(STATUS_MARK.insufficient);

const excerpt = (text: string | null, width = 48): string => {
  if (text === null) return '(no output)';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

const NO_FIGURES = 'no figures yet: the server reads them from the traces of each arm';

const printFigures = (detail: RolloutDetail, out: Output): void => {
  const c = out.colors;
  out.line(c.bold('arms'));
  if (detail.arms === null) out.line(`  ${NO_FIGURES}`);
  else {
    out.table(
      (['baseline', 'candidate'] as const).map((arm) => [
        `  ${arm}`,
        String(detail.arms![arm].requests),
        detail.arms![arm].units === null ? '–' : String(detail.arms![arm].units),
      ]),
      ['  arm', 'calls', 'units'],
    );
    const metrics = armMetrics(detail.arms);
    if (metrics.length > 0) {
      const arms = detail.arms;
      out.line();
      out.table(
        metrics.map((metric) => [
          `  ${metric}`,
          formatArmFigure(metric, arms.baseline.metrics?.[metric]),
          formatArmFigure(metric, arms.candidate.metrics?.[metric]),
        ]),
        ['  metric', 'baseline [interval]', 'candidate [interval]'],
      );
    }
  }
  out.line();
  out.line(c.bold('guardrails'));
  if (detail.guardrails === null) out.line(`  ${NO_FIGURES}`);
  else if (detail.guardrails.length === 0) out.line('  none');
  else {
    out.table(
      detail.guardrails.map((g) => [
        `  ${mark(g.status, c)} ${g.metric}`,
        signedFigure(g.threshold),
        `${formatMetricValue(g.metric, g.baseline.value)} (n=${g.baseline.count})`,
        `${formatMetricValue(g.metric, g.candidate.value)} (n=${g.candidate.count})`,
        formatDifference(g.difference),
        g.status,
      ]),
      ['  guardrail', 'allowed', 'baseline', 'candidate', 'candidate − baseline', 'verdict'],
    );
  }
};

const printShadow = (detail: RolloutDetail, out: Output): void => {
  const c = out.colors;
  out.line(c.bold('shadow pairs'));
  const shadow = detail.shadow;
  if (shadow === null) {
    out.line(`  ${NO_FIGURES}`);
    return;
  }
  out.line(`  ${shadow.pairs} pairs (the same call answered by both versions)`);
  if (shadow.assertions !== null) {
    out.line(
      `  live assertions passed: baseline ${formatPassRate(shadow.assertions.baseline)}, candidate ${formatPassRate(shadow.assertions.candidate)}`,
    );
  }
  const mean = (value: number | null): string => (value === null ? '–' : `${Math.round(value)}`);
  out.line(
    `  mean output length: baseline ${mean(shadow.length.baseline.mean)}, candidate ${mean(shadow.length.candidate.mean)} characters`,
  );
  if (shadow.differing.length > 0) {
    out.line('  the pairs that differ most:');
    out.table(
      shadow.differing.map((pair) => [
        `  ${pair.traceId}`,
        pair.difference.toFixed(2),
        excerpt(pair.baseline.output),
        excerpt(pair.candidate.output),
      ]),
      ['  trace', 'differ', 'baseline', 'candidate'],
    );
  }
};

const printRamp = (detail: RolloutDetail, out: Output): void => {
  const c = out.colors;
  const { rollout } = detail;
  const steps = rollout.steps
    .map((step, i) => (i === rollout.stepIndex && rollout.ramp > 0 ? c.bold(`[${step}]`) : String(step)))
    .join(' → ');
  out.line(`${c.bold('ramp')} ${steps} %`);
  for (const span of rampHistory(rollout, detail.decisions)) {
    out.line(
      `  ${formatTime(span.at)}  ${String(span.ramp).padStart(3)} %  ${span.state} (${span.action} by ${span.actor})`,
    );
  }
};

const printDecisions = (decisions: readonly RolloutDecisionView[], out: Output): void => {
  out.line(out.colors.bold('decisions'));
  out.table(
    decisions.map((d) => [`  ${formatTime(d.at)}`, d.action, d.actor, d.reason]),
    ['  at', 'action', 'by', 'reason'],
  );
};

/** `promptops rollout show`: the rollout, its ramp over time, per-arm figures, guardrails, shadow pairs, decisions. */
export const printRolloutDetail = (detail: RolloutDetail, out: Output): void => {
  const { rollout } = detail;
  printRolloutLine(rollout, out);
  out.line(`  ${planText(rollout)}`);
  if (rollout.killed === true) out.line(`  ${out.colors.red('killed')}: everyone gets the baseline until resumed`);
  (rollout.rules ?? []).forEach((rule, i) => out.line(`  rule ${i + 1}: ${ruleText(rule)}`));
  out.line(
    `  started by ${rollout.createdBy} ${formatTime(rollout.createdAt)}${rollout.endedAt === null ? '' : `; ended ${formatTime(rollout.endedAt)}`}`,
  );
  out.line();
  printRamp(detail, out);
  out.line();
  printFigures(detail, out);
  if (rollout.mode === 'shadow') {
    out.line();
    printShadow(detail, out);
  }
  out.line();
  printDecisions(detail.decisions, out);
};
