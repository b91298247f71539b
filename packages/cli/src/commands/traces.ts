import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { PromptopsError, shortSha, type PromptDiff } from '@promptops/core';
import { ApiError, type ApiClient } from '../api-client.js';
import { promptNameArg, type CommandContext } from '../context.js';
import { formatTime, type Output } from '../output.js';
import type { MetricsResponse, TraceDetail, TraceRecord } from '../trace-api.js';
import { integerOption } from './options.js';

/** The bakery log: `promptops trace ID` (the complaint workflow), `promptops traces`, `promptops metrics`. */

const PAGE_SIZE = 500;

const durationOption =
  (what: string) =>
  (text: string): string => {
    if (!/^\d{1,6}[smhdw]$/.test(text) && Number.isNaN(Date.parse(text))) {
      throw new InvalidArgumentError(`${what} must be a duration such as 30m, 24h or 7d, or an ISO-8601 time`);
    }
    return text;
  };

const shaOption = (text: string): string => {
  if (!/^[0-9a-fA-F]{7,64}$/.test(text)) throw new InvalidArgumentError('sha must be 7 to 64 hex characters');
  return text.toLowerCase();
};

const versionOf = (trace: TraceRecord): string => {
  const prompt = trace.prompt;
  if (prompt === null) return '(no prompt)';
  const version = prompt.version === null ? '' : `@v${prompt.version}`;
  return `${prompt.name}${version}`;
};

const ms = (value: number | null): string => (value === null ? '-' : `${Math.round(value)} ms`);

const printDiff = (out: Output, diff: PromptDiff): void => {
  const c = out.colors;
  for (const line of diff.unified.trimEnd().split('\n')) {
    if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('===')) out.line(c.bold(line));
    else if (line.startsWith('+')) out.line(c.green(line));
    else if (line.startsWith('-')) out.line(c.red(line));
    else if (line.startsWith('@@')) out.line(c.cyan(line));
    else out.line(line);
  }
  for (const field of diff.fields)
    out.line(`  ${field.path}: ${JSON.stringify(field.from)} -> ${JSON.stringify(field.to)}`);
};

/** The command that puts the label back, naming the target so it is exact whatever happens meanwhile. */
export const rollbackCommand = (detail: TraceDetail): string | null =>
  detail.rollback === null
    ? null
    : `promptops rollback ${detail.rollback.name} --label ${detail.rollback.label} --to v${detail.rollback.to.version}`;

const printTrace = (out: Output, detail: TraceDetail): void => {
  const c = out.colors;
  const t = detail.trace;
  const sha = t.prompt?.sha ?? null;
  out.line(
    `${c.bold(`trace ${t.id}`)}  ${formatTime(t.startedAt)}  ${t.status === 'ok' ? c.green('ok') : c.red(`error: ${t.error ?? ''}`)}`,
  );
  const rows: [string, string][] = [
    ['prompt', `${versionOf(t)}${sha === null ? '' : ` (${c.yellow(shortSha(sha))})`}`],
    ['sha', sha ?? '-'],
    ['label', t.label ?? '-'],
    ['tenant', t.tenant ?? '-'],
    [
      'rollout',
      `${t.rollout === null ? '-' : `${t.rollout.id ?? '?'} arm ${t.rollout.arm ?? '?'}`}${t.shadowOf == null ? '' : ` (shadow of ${t.shadowOf})`}`,
    ],
    ['model', [t.provider, t.model].filter((x) => x !== null).join('/') || '-'],
    ['latency', ms(t.latencyMs)],
    [
      'tokens',
      `${t.usage.inputTokens ?? '-'} in / ${t.usage.outputTokens ?? '-'} out${t.cost === null ? '' : `, cost ${t.cost}`}`,
    ],
  ];
  if (t.prompt?.effectiveSha) rows.splice(2, 0, ['effective', t.prompt.effectiveSha]);
  for (const [key, value] of rows) out.line(`  ${c.dim(key.padEnd(9))} ${value}`);
  if (t.variables !== null) out.line(`  ${c.dim('variables'.padEnd(9))} ${JSON.stringify(t.variables)}`);
  out.line();
  out.line(c.bold('output:'));
  out.line(t.output === null ? c.dim('  (none recorded)') : t.output.replace(/^/gm, '  '));
  if (t.scores.length > 0) {
    out.line();
    out.line(c.bold('scores:'));
    for (const s of t.scores)
      out.line(
        `  ${s.kind} ${s.name}: ${String(s.value)}${s.comment === null ? '' : ` "${s.comment}"`} (${s.actor}, ${formatTime(s.createdAt)})`,
      );
  }
  out.line();
  if (detail.version === null) {
    out.line(
      c.dim(
        sha === null
          ? 'the trace names no prompt version'
          : `the registry has no version ${shortSha(sha)} of ${t.prompt?.name ?? 'this prompt'}`,
      ),
    );
  } else if (detail.parent !== null && detail.diffToParent !== null) {
    out.line(c.bold(`what changed from v${detail.parent.version} to v${detail.version.version}:`));
    printDiff(out, detail.diffToParent);
  } else {
    out.line(c.dim(`v${detail.version.version} is the first version: no version before it`));
  }
  const now = detail.labelNow;
  if (now !== null) {
    out.line();
    if (now.servesTrace) {
      out.line(
        `${c.green(now.label)} still serves v${now.version.version} (${c.yellow(shortSha(now.version.sha))}), the version of this trace.`,
      );
      const command = rollbackCommand(detail);
      if (command !== null) {
        out.line(
          `to roll back to v${detail.rollback?.to.version ?? '?'} (${c.yellow(shortSha(detail.rollback?.to.sha ?? ''))}):`,
        );
        out.line(`  ${c.bold(command)}`);
      }
    } else {
      out.line(
        `${c.green(now.label)} now serves v${now.version.version} (${c.yellow(shortSha(now.version.sha))}), not this trace's version: no rollback needed.`,
      );
      if (now.diff !== null && !now.diff.identical) {
        out.line(c.bold(`what changed since this trace's version:`));
        printDiff(out, now.diff);
      }
    }
  }
};

/** As any tracing UI shows it (W3C trace context). */
const OTEL_TRACE_ID = /^[0-9a-fA-F]{32}$/;
const MAX_SPANS = 1000;

/** Every span of one OpenTelemetry trace, oldest first; at least one, else trace_not_found. */
const spansOf = async (client: ApiClient, traceId: string): Promise<TraceRecord[]> => {
  const spans: TraceRecord[] = [];
  let cursor: string | undefined;
  while (spans.length < MAX_SPANS) {
    const page = await client.listTraces({ traceId, limit: PAGE_SIZE, cursor });
    spans.push(...page.traces);
    if (page.nextCursor === null || page.traces.length === 0) break;
    cursor = page.nextCursor;
  }
  if (spans.length === 0) {
    throw new PromptopsError(
      'not_found',
      'trace_not_found',
      `no trace with event id or trace id '${traceId}' in this project`,
      {
        fix: 'list recent traces with `promptops traces` (--since 7d for older ones); traces older than the retention period are deleted',
      },
    );
  }
  return spans.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || (a.id < b.id ? -1 : 1));
};

const printSpans = (out: Output, traceId: string, spans: readonly TraceRecord[]): void => {
  const c = out.colors;
  out.line(c.bold(`trace ${traceId}: ${spans.length} spans`));
  out.table(
    spans.map((t) => [
      formatTime(t.startedAt),
      t.id,
      t.spanId ?? '-',
      t.parentSpanId ?? '-',
      versionOf(t),
      t.prompt?.sha ? c.yellow(shortSha(t.prompt.sha)) : '-',
      t.label ?? '-',
      t.status === 'ok' ? c.green('ok') : c.red('error'),
      ms(t.latencyMs),
      (t.output ?? t.error ?? '').replace(/\s+/g, ' ').slice(0, 60),
    ]),
    ['when', 'id', 'span', 'parent', 'prompt', 'sha', 'label', 'status', 'latency', 'output'],
  );
  out.line();
  out.line(`one span in full: ${c.bold(`promptops trace ${spans[0]?.id ?? ''}`)}`);
};

export const registerTraces = (program: Command, ctx: CommandContext): void => {
  program
    .command('trace')
    .description(
      'one trace in full: prompt version, sha, label, tenant, arm, output, the diff to the version before, and the rollback command',
    )
    .argument('<id>', 'the event id, or an OpenTelemetry trace id (32 hex) for every span of that trace')
    .action(async (id: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const client = await ctx.client(command);
      let detail = await client.getTrace(id).catch((error: unknown) => {
        if (OTEL_TRACE_ID.test(id) && error instanceof ApiError && error.code === 'trace_not_found') return undefined;
        throw error;
      });
      if (detail === undefined) {
        const traceId = id.toLowerCase();
        const spans = await spansOf(client, traceId);
        if (spans.length > 1) {
          if (out.json) out.data({ traceId, spans });
          else printSpans(out, traceId, spans);
          return;
        }
        detail = await client.getTrace(spans[0]!.id);
      }
      if (out.json) {
        out.data({ ...detail, rollbackCommand: rollbackCommand(detail) });
        return;
      }
      printTrace(out, detail);
    });

  program
    .command('traces')
    .description('list traces, newest first, filtered')
    .option('-p, --prompt <name>', 'only this prompt')
    .option('--sha <sha>', 'only this sha (or a prefix of 7+)', shaOption)
    .option('-l, --label <label>', 'only traces served by this label')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--rollout <id>', 'only the traces of this rollout')
    .option('--arm <arm>', 'only this rollout arm')
    .addOption(new Option('--status <status>', 'only ok or error traces').choices(['ok', 'error']))
    .option('--since <when>', 'from this long ago (24h, 7d) or this ISO time', durationOption('since'), '24h')
    .option('--until <when>', 'up to this long ago or this ISO time', durationOption('until'))
    .option('-n, --limit <n>', 'show at most n traces', integerOption('limit', 1, 100_000), 50)
    .action(
      async (
        options: {
          prompt?: string;
          sha?: string;
          label?: string;
          tenant?: string;
          rollout?: string;
          arm?: string;
          status?: string;
          since: string;
          until?: string;
          limit: number;
        },
        command: Command,
      ) => {
        const prompt = options.prompt === undefined ? undefined : promptNameArg(options.prompt);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const traces: TraceRecord[] = [];
        let cursor: string | undefined;
        // The server pages; follow the cursor until the limit is reached or the traces end.
        while (traces.length < options.limit) {
          const page = await client.listTraces({
            prompt,
            sha: options.sha,
            label: options.label,
            tenant: options.tenant,
            rollout: options.rollout,
            arm: options.arm,
            status: options.status,
            since: options.since,
            until: options.until,
            limit: Math.min(PAGE_SIZE, options.limit - traces.length),
            cursor,
          });
          traces.push(...page.traces);
          if (page.nextCursor === null || page.traces.length === 0) break;
          cursor = page.nextCursor;
        }
        if (out.json) {
          out.data({ traces });
          return;
        }
        if (traces.length === 0) {
          out.line(`no traces since ${options.since}`);
          return;
        }
        const c = out.colors;
        out.table(
          traces.map((t) => [
            formatTime(t.startedAt),
            t.id,
            versionOf(t),
            t.prompt?.sha ? c.yellow(shortSha(t.prompt.sha)) : '-',
            t.label ?? '-',
            t.tenant ?? '-',
            t.rollout?.arm ?? '-',
            t.status === 'ok' ? c.green('ok') : c.red('error'),
            ms(t.latencyMs),
            (t.output ?? t.error ?? '').replace(/\s+/g, ' ').slice(0, 60),
          ]),
          ['when', 'id', 'prompt', 'sha', 'label', 'tenant', 'arm', 'status', 'latency', 'output'],
        );
      },
    );

  program
    .command('metrics')
    .description(
      'per-sha time buckets of a prompt: count, error rate, latency p50/p95/p99, tokens, cost, scores; label moves marked',
    )
    .argument('<name>', 'prompt name')
    .addOption(new Option('--by <what>', 'one series per').choices(['sha', 'label', 'arm', 'tenant']).default('sha'))
    .option('--rollout <id>', "only this rollout's traces (with --by arm: baseline against candidate)")
    .option('--since <when>', 'window start: 24h, 7d, or an ISO time', durationOption('since'), '24h')
    .option('--bucket <size>', 'bucket width: 15m, 1h, 1d (default: about 24 buckets)', durationOption('bucket'))
    .action(
      async (
        nameText: string,
        options: { by: 'sha' | 'label' | 'arm' | 'tenant'; rollout?: string; since: string; bucket?: string },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const out = ctx.output(command);
        const client = await ctx.client(command);
        const bucket = options.bucket ?? defaultBucket(options.since);
        const metrics = await client.metrics(name, {
          by: options.by,
          since: options.since,
          bucket,
          rollout: options.rollout,
        });
        if (out.json) {
          out.data(metrics);
          return;
        }
        printMetrics(out, metrics);
      },
    );
};

/** About 24 buckets for a duration window; hourly for an absolute time. */
const defaultBucket = (since: string): string => {
  const match = /^(\d+)([smhdw])$/.exec(since);
  if (match === null) return '1h';
  const hours =
    Number(match[1]) * ({ s: 1 / 3600, m: 1 / 60, h: 1, d: 24, w: 168 } as Record<string, number>)[match[2]!]!;
  if (hours <= 2) return '5m';
  if (hours <= 24) return '1h';
  if (hours <= 72) return '3h';
  if (hours <= 24 * 7) return '6h';
  return '1d';
};

const printMetrics = (out: Output, metrics: MetricsResponse): void => {
  const c = out.colors;
  const keyName = (key: string | null, version: number | null): string =>
    metrics.by === 'sha' ? (key === null ? '(no sha)' : `v${version ?? '?'} ${shortSha(key)}`) : (key ?? '(none)');
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  type Row = { at: string; cells: string[] };
  const rows: Row[] = [];
  for (const series of metrics.series) {
    for (const p of series.points) {
      rows.push({
        at: p.start,
        cells: [
          formatTime(p.start),
          c.yellow(keyName(series.key, series.version)),
          String(p.count),
          p.errors === 0 ? '0' : c.red(pct(p.errorRate)),
          ms(p.latencyMs.p50),
          ms(p.latencyMs.p95),
          ms(p.latencyMs.p99),
          `${p.tokens.input}/${p.tokens.output}`,
          p.cost === 0 ? '-' : p.cost.toFixed(4),
          p.score.mean === null ? '-' : p.score.mean.toFixed(2),
          p.thumbs.down === 0 ? '0' : c.red(String(p.thumbs.down)),
        ],
      });
    }
  }
  // Label moves appear in time order among the buckets, so a change in the numbers lines up with its cause.
  for (const m of metrics.markers) {
    rows.push({
      at: m.createdAt,
      cells: [
        formatTime(m.createdAt),
        c.bold(
          `>> ${m.label}: ${m.fromVersion === null ? '(none)' : `v${m.fromVersion}`} -> v${m.toVersion} (${m.kind} by ${m.actor})`,
        ),
      ],
    });
  }
  rows.sort((a, b) => a.at.localeCompare(b.at));
  out.line(
    `${c.bold(metrics.name)} by ${metrics.by}, ${formatTime(metrics.since)} .. ${formatTime(metrics.until)}, buckets of ${Math.round(metrics.bucketMs / 60_000)} min`,
  );
  if (metrics.series.length === 0) {
    out.line('no traces in this window');
    return;
  }
  out.table(
    rows.map((r) => r.cells),
    ['bucket', metrics.by, 'count', 'errors', 'p50', 'p95', 'p99', 'tokens in/out', 'cost', 'score', 'thumbs down'],
  );
  out.line();
  for (const s of metrics.series) {
    const t = s.totals;
    out.line(
      `${c.yellow(keyName(s.key, s.version))}: ${t.count} ${t.count === 1 ? 'call' : 'calls'}, errors ${pct(t.errorRate)}, p50 ${ms(t.latencyMs.p50)}, p99 ${ms(t.latencyMs.p99)}, thumbs ${t.thumbs.up} up / ${t.thumbs.down} down${t.score.mean === null ? '' : `, mean score ${t.score.mean.toFixed(2)}`}`,
    );
  }
};
