/**
 * flagd's JSON flag format decides which label of a prompt a caller gets, evaluated in-process by
 * `@openfeature/flagd-core` (the evaluator flagd and its in-process providers use; no daemon here), and
 * handed to the SDK as `createClient({ resolveLabel })`: `get` stays synchronous and local. `flags.json`
 * sends the pro and enterprise plans and acme's staff to `beta`; everyone else stays on `production`.
 * Editing the file (here: its default variant) moves callers at once, without a deploy.
 *
 *   PROMPTOPS_URL=http://127.0.0.1:4680 PROMPTOPS_API_KEY=po_... npx tsx examples/openfeature-flagd/index.ts
 */
import { readFileSync } from 'node:fs';
import { FlagdCore } from '@openfeature/flagd-core';
import { createClient } from '@promptops/sdk';

export const PROMPT = 'customer_support_greeter';
const LABEL_FLAG = 'greeter-label';
export const FLAGS_FILE = new URL('./flags.json', import.meta.url);

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

export interface Caller {
  readonly user: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface Served {
  readonly user: string;
  readonly label: string | null;
  readonly sha: string;
  /** flagd's reason for the label (TARGETING_MATCH, DEFAULT…). */
  readonly reason: string | undefined;
}

/**
 * Serves `callers` with the flag as `flags` (flagd's JSON) says, then again after `edit` rewrote the
 * definition (as a file change or a flagd sync would).
 */
export const run = async (
  url: string,
  apiKey: string,
  callers: readonly Caller[],
  flags: string = readFileSync(FLAGS_FILE, 'utf8'),
  edit: (flags: string) => string = (text) => text.replace('"defaultVariant": "stable"', '"defaultVariant": "beta"'),
): Promise<Served[][]> => {
  const flagd = new FlagdCore();
  flagd.setConfigurations(flags);
  const reasons = new Map<string, string | undefined>();

  const client = createClient({
    url,
    apiKey,
    traces: false,
    // Consulted by get() when the call names no label: flagd's evaluation context is the call's.
    resolveLabel: (_name, options) => {
      const context = { ...options.context, ...(options.unitKey ? { targetingKey: options.unitKey } : {}) };
      const details = flagd.resolveStringEvaluation(LABEL_FLAG, 'production', context, quiet);
      reasons.set(String(context.targetingKey), details.reason);
      return details.value;
    },
  });
  await client.ready();

  const serve = ({ user, attributes }: Caller): Served => {
    const prompt = client.get(PROMPT, { unitKey: user, context: { targetingKey: user, ...attributes } });
    return { user, label: prompt.label, sha: prompt.sha, reason: reasons.get(user) };
  };
  try {
    const before = callers.map(serve);
    flagd.setConfigurations(edit(flags)); // the file changed: no deploy, no restart
    const after = callers.map(serve);
    return [before, after];
  } finally {
    await client.close();
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env['PROMPTOPS_URL'] ?? 'http://127.0.0.1:4680';
  const apiKey = process.env['PROMPTOPS_API_KEY'] ?? '';
  const callers = [
    { user: 'user-1', attributes: { plan: 'free' } },
    { user: 'user-2', attributes: { plan: 'pro' } },
    { user: 'user-3', attributes: { email: 'zoe@acme.example' } },
  ];
  const [before, after] = await run(url, apiKey, callers);
  for (const [when, served] of [
    ['flags.json as it is', before!],
    ['default variant edited to beta', after!],
  ] as const) {
    console.log(`${when}:`);
    for (const s of served) console.log(`  ${s.user}: label ${s.label} (${s.reason}), sha ${s.sha.slice(0, 12)}`);
  }
}
