/**
 * JUnit XML, the format CI systems (GitHub Actions reporters, GitLab, Jenkins, CircleCI) read test
 * results in: one testsuite, one testcase per checked file, one failure per failing testcase listing
 * every problem of that file.
 */

export interface JunitCase {
  readonly name: string;
  /** The file the case stands for; problems are matched to cases by it. */
  readonly file: string;
}

export interface JunitProblem {
  readonly file: string;
  readonly path: string | null;
  readonly code: string;
  readonly message: string;
  readonly fix: string;
}

// Characters XML 1.0 cannot hold at all, even escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export const escapeXml = (text: string): string =>
  text
    .replace(INVALID_XML, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');

const describe = (problem: JunitProblem): string =>
  `${problem.path === null ? '' : `${problem.path}: `}${problem.message}`;

export const junitXml = (suite: string, cases: readonly JunitCase[], problems: readonly JunitProblem[]): string => {
  const failing = cases.filter((c) => problems.some((p) => p.file === c.file)).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suite)}" tests="${cases.length}" failures="${failing}" errors="0">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failing}" errors="0" skipped="0">`,
  ];
  for (const testcase of cases) {
    const attrs = `classname="${escapeXml(suite)}" name="${escapeXml(testcase.name)}" file="${escapeXml(testcase.file)}"`;
    const own = problems.filter((p) => p.file === testcase.file);
    const first = own[0];
    if (first === undefined) {
      lines.push(`    <testcase ${attrs}/>`);
      continue;
    }
    const message = own.length === 1 ? describe(first) : `${own.length} problems: ${own.map(describe).join('; ')}`;
    const body = own.map((p) => `${testcase.file}: ${describe(p)} [${p.code}]\nfix: ${p.fix}`).join('\n');
    lines.push(
      `    <testcase ${attrs}>`,
      `      <failure message="${escapeXml(message)}" type="${escapeXml(first.code)}">${escapeXml(body)}</failure>`,
      '    </testcase>',
    );
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
};
