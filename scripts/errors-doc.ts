/**
 * Writes docs/errors.md from the error catalogue (packages/core/src/error-catalogue.ts):
 * `npx tsx scripts/errors-doc.ts`. The catalogue test fails when the two disagree.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ERROR_AREAS,
  ERROR_CATALOGUE,
  ERROR_CODE_FAMILIES,
  RETRY_AFTER_KINDS,
  STATUS_BY_KIND,
  type ErrorArea,
  type ErrorCodeEntry,
  type ErrorKind,
} from '../packages/core/src/errors.js';

const cell = (text: string): string => text.replaceAll('|', '\\|');

const row = (code: string, entry: ErrorCodeEntry): string => {
  const status = (kind: ErrorKind): string =>
    `${STATUS_BY_KIND[kind]}${RETRY_AFTER_KINDS.has(kind) ? ' + Retry-After' : ''}`;
  const kinds = [entry.kind, ...entry.also];
  return `| \`${code}\` | ${kinds.join(', ')} | ${kinds.map(status).join('; ')} | ${cell(entry.meaning)} | ${cell(entry.fix)} |`;
};

export const renderErrorsDoc = (): string => {
  const entries = [...Object.entries(ERROR_CATALOGUE), ...Object.entries(ERROR_CODE_FAMILIES)] as [
    string,
    ErrorCodeEntry,
  ][];
  const lines = [
    '# Error codes',
    '',
    '<!-- Written by `npx tsx scripts/errors-doc.ts` from packages/core/src/error-catalogue.ts: edit the catalogue, not this file. -->',
    '',
    'Every error promptops reports has a stable `code` (a public contract: codes are added, never renamed), a',
    '`kind`, a `message` that names the value at fault and a `fix`. Over HTTP the body is',
    '`{ "error": { "code", "message", "fix", "issues"?, "details"? } }` (see [api.md](api.md#errors)) and the',
    'status follows the kind:',
    '',
    '| kind | status |',
    '| ---- | ------ |',
    ...Object.entries(STATUS_BY_KIND).map(
      ([kind, status]) =>
        `| ${kind} | ${status}${RETRY_AFTER_KINDS.has(kind as never) ? ' + `Retry-After` (seconds)' : ''} |`,
    ),
    '',
    'A `rate_limited` or `unavailable` answer carries `Retry-After`: send the same request again after that',
    'many seconds. Clients (CLI, SDK, dashboard) decode an error answer with `errorFromHttpAnswer` from',
    '`@promptops/core`, so they report the same code, kind and fix. The SDK and CLI codes below never come',
    "from the server; `kind` then says what sort of failure it is. The fix column is general; each error's",
    'own `fix` says it for the case at hand.',
  ];
  for (const [area, title] of Object.entries(ERROR_AREAS) as [ErrorArea, string][]) {
    const rows = entries.filter(([, entry]) => entry.area === area).sort(([a], [b]) => a.localeCompare(b));
    if (rows.length === 0) continue;
    lines.push(
      '',
      `## ${title}`,
      '',
      '| code | kind | status | meaning | fix |',
      '| ---- | ---- | ------ | ------- | --- |',
    );
    lines.push(...rows.map(([code, entry]) => row(code, entry)));
  }
  return `${lines.join('\n')}\n`;
};

export const ERRORS_DOC = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ERRORS_DOC, renderErrorsDoc());
  console.log(`wrote ${ERRORS_DOC}`);
}
