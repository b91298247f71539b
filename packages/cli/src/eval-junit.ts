import type { EvalRunInput } from '@promptops/core';
import { escapeXml } from './junit.js';

/**
 * JUnit XML for eval runs: one testsuite per suite run, one testcase per case. A case that fails its
 * assertions is a `<failure>` listing each failing assertion (expected vs got); a case whose provider
 * call failed is an `<error>`. CI systems show both as failed tests.
 */

export interface JunitRun {
  readonly run: EvalRunInput;
  readonly file: string;
}

const seconds = (ms: number | null): string => ((ms ?? 0) / 1000).toFixed(3);

export const evalJunitXml = (runs: readonly JunitRun[]): string => {
  const count = (pick: (c: EvalRunInput['cases'][number]) => boolean): number =>
    runs.reduce((sum, { run }) => sum + run.cases.filter(pick).length, 0);
  const tests = count(() => true);
  const errors = count((c) => c.error !== null);
  const failures = count((c) => c.error === null && !c.pass);
  const total = runs.reduce((sum, { run }) => sum + run.durationMs, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="promptops eval" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(total)}">`,
  ];
  for (const { run, file } of runs) {
    const own = (pick: (c: EvalRunInput['cases'][number]) => boolean): number => run.cases.filter(pick).length;
    const suiteName = `${run.suite.name} (${run.prompt.name}${run.tenant == null ? '' : `, tenant ${run.tenant.id}`})`;
    lines.push(
      `  <testsuite name="${escapeXml(suiteName)}" tests="${run.cases.length}" failures="${own((c) => c.error === null && !c.pass)}" errors="${own((c) => c.error !== null)}" skipped="0" time="${seconds(run.durationMs)}" timestamp="${escapeXml(run.startedAt)}" file="${escapeXml(file)}">`,
    );
    for (const c of run.cases) {
      const attrs = `classname="${escapeXml(run.suite.name)}" name="${escapeXml(c.id)}" time="${seconds(c.latencyMs)}"`;
      if (c.error !== null) {
        lines.push(
          `    <testcase ${attrs}>`,
          `      <error message="${escapeXml(c.error)}" type="provider_error">${escapeXml(c.error)}</error>`,
          '    </testcase>',
        );
      } else if (!c.pass) {
        const failing = c.assertions.filter((a) => !a.pass);
        const message =
          failing.length === 0
            ? `score ${c.score.toFixed(2)} is below the case threshold`
            : failing.map((a) => `${a.type}: ${a.reason}`).join('; ');
        const body = [
          ...failing.map((a) => `${a.type} (weight ${a.weight}): ${a.reason}`),
          `output: ${c.output ?? ''}`,
        ].join('\n');
        lines.push(
          `    <testcase ${attrs}>`,
          `      <failure message="${escapeXml(message)}" type="${escapeXml(failing[0]?.type ?? 'threshold')}">${escapeXml(body)}</failure>`,
          '    </testcase>',
        );
      } else {
        lines.push(`    <testcase ${attrs}/>`);
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
};
