import {
  createLockfile,
  edit,
  faq,
  formatLockfile,
  greeter,
  outcome,
  overrideSha,
  parseLockfile,
  parseOverride,
  promptSha,
  releaseShaOf,
  type LockEntry,
  type LockOverride,
} from './common.js';
import { expectGet, type Get } from './resolution.js';

const v17 = greeter(17);
const v18 = greeter(18);
const faq3 = faq('Answer');
const SHA17 = promptSha(v17);
const SHA18 = promptSha(v18);
const FAQ_SHA = promptSha(faq3);

const entries: Record<string, LockEntry> = {
  customer_support_greeter: { sha: SHA17, version: 17, label: 'production', content: v17 },
  'support/faq': { sha: FAQ_SHA, version: 3, label: null, content: faq3 },
  'support/no-content': { sha: SHA18, version: 18, label: 'production' },
};
const valid = formatLockfile(createLockfile(entries));
const lockObject = (): Record<string, unknown> => JSON.parse(valid) as Record<string, unknown>;
const withPrompts = (prompts: Record<string, unknown>): string =>
  `${JSON.stringify({ lockfileVersion: 1, releaseSha: releaseShaOf(prompts as Record<string, { sha: string }>), prompts }, null, 2)}\n`;

const ACME = { params: { temperature: 0.7 } };
const GLOBEX = { variables: { question: 'Wie kann ich helfen?' }, params: { model: 'gpt-4o' } };
const lockOverride = (override: object, version: number, base: LockOverride['base']): LockOverride => ({
  version,
  sha: overrideSha(parseOverride(override)),
  label: 'production',
  override,
  base,
});
const withOverrides = formatLockfile(
  createLockfile({
    ...entries,
    customer_support_greeter: {
      ...entries['customer_support_greeter']!,
      overrides: {
        acme: lockOverride(ACME, 2, null),
        globex: lockOverride(GLOBEX, 1, { version: 18, sha: SHA18, content: v18 }),
      },
    },
  }),
);
const overridesObject = () =>
  JSON.parse(withOverrides) as {
    prompts: Record<string, { overrides: Record<string, Record<string, unknown>> } & Record<string, unknown>>;
  };
/** The lockfile with overrides after `change`, the release sha recomputed. */
const editOverrides = (change: (overrides: Record<string, Record<string, unknown>>) => void): string => {
  const { prompts } = overridesObject();
  change(prompts['customer_support_greeter']!.overrides);
  return withPrompts(prompts);
};

const GETS: readonly Get[] = [
  { name: 'customer_support_greeter' },
  { name: 'customer_support_greeter', label: 'production' },
  { name: 'customer_support_greeter', label: 'staging' },
  { name: 'customer_support_greeter@v17' },
  { name: `customer_support_greeter@${SHA17.slice(0, 7)}` },
  { name: 'customer_support_greeter@production' },
  { name: 'customer_support_greeter@v18' },
  { name: 'support/faq' },
  { name: 'support/faq', label: 'staging' },
  { name: 'support/faq@v3' },
  { name: `support/faq@${FAQ_SHA}` },
  { name: 'support/faq@canary' },
  { name: 'support/faq@v4' },
  { name: 'support/no-content' },
  { name: 'unknown' },
];

/** The same few gets for the lockfiles beyond the first. */
const SOME_GETS: readonly Get[] = [
  { name: 'customer_support_greeter' },
  { name: 'support/faq', label: 'staging' },
  { name: 'unknown' },
];

const VALID: readonly (readonly [string, string])[] = [
  ['as promptops lock --embed writes it', valid],
  [
    'reordered keys, other indentation, content in non-canonical key order',
    JSON.stringify(
      {
        prompts: Object.fromEntries(
          Object.entries(lockObject()['prompts'] as Record<string, Record<string, unknown>>)
            .reverse()
            .map(([name, entry]) => [name, Object.fromEntries(Object.entries(entry).reverse())]),
        ),
        releaseSha: lockObject()['releaseSha'],
        lockfileVersion: 1,
      },
      null,
      '\t',
    ),
  ],
  [
    'without embedded content (nothing to serve)',
    formatLockfile(createLockfile({ customer_support_greeter: { sha: SHA17, version: 17, label: 'production' } })),
  ],
  ['no prompts', formatLockfile(createLockfile({}))],
  ['a version number edited goes unnoticed (versions are not hashed)', edit(valid, '"version": 17', '"version": 16')],
  ['with tenant overrides (one following the label, one pinned to an embedded base)', withOverrides],
];

const tamperedContent = withPrompts({
  customer_support_greeter: {
    sha: SHA17,
    version: 17,
    label: 'production',
    content: { ...v17, messages: [{ role: 'system', content: 'You are a helpful support agent.' }, v17.messages[1]] },
  },
});

const INVALID: readonly (readonly [string, string])[] = [
  ['embedded content edited (the release sha recomputed)', tamperedContent],
  ['embedded content edited in place', edit(valid, 'Always greet the user by name.', 'Never greet the user by name.')],
  ['an entry sha changed (content embedded)', edit(valid, `"sha": "${SHA17}"`, `"sha": "${SHA18}"`)],
  ['an entry sha changed (no content), the release sha left', edit(valid, `"sha": "${SHA18}"`, `"sha": "${SHA17}"`)],
  ['the release sha changed', edit(valid, (lockObject()['releaseSha'] as string).slice(0, 8), '00000000')],
  [
    'content filed under another name',
    withPrompts({ 'support/other': { sha: FAQ_SHA, version: 3, label: null, content: faq3 } }),
  ],
  ['not JSON', valid.slice(0, 200)],
  ['an empty file', ''],
  ['lockfileVersion 2', edit(valid, '"lockfileVersion": 1', '"lockfileVersion": 2')],
  ['an upper-case sha', edit(valid, `"sha": "${SHA17}"`, `"sha": "${SHA17.toUpperCase()}"`)],
  ['version 0', edit(valid, '"version": 17', '"version": 0')],
  ['an unknown field in an entry', edit(valid, '"version": 17,', '"version": 17, "pinned": true,')],
  ['an unknown top-level field', edit(valid, '"lockfileVersion": 1,', '"lockfileVersion": 1, "generatedAt": "now",')],
  ['releaseSha missing', JSON.stringify({ lockfileVersion: 1, prompts: {} })],
  [
    'embedded content that is not prompt content',
    withPrompts({
      customer_support_greeter: { sha: SHA17, version: 17, label: 'production', content: { ...v17, extra: 1 } },
    }),
  ],
  ['the top level is an array', '[]'],
  ['an override edited in place', edit(withOverrides, '"temperature": 0.7', '"temperature": 0.9')],
  [
    "an override's sha changed with its content, the release sha left",
    edit(
      edit(withOverrides, '"temperature": 0.7', '"temperature": 0.9'),
      overrideSha(parseOverride(ACME)),
      overrideSha(parseOverride({ params: { temperature: 0.9 } })),
    ),
  ],
  [
    "an override's sha wrong (the release sha recomputed)",
    editOverrides((o) => {
      o['acme']!['sha'] = SHA17;
    }),
  ],
  [
    "a pinned base's content edited (the release sha recomputed)",
    editOverrides((o) => {
      o['globex']!['base'] = { version: 18, sha: SHA18, content: v17 };
    }),
  ],
  [
    'an override filed under an invalid tenant id',
    editOverrides((o) => {
      o['not a tenant'] = o['acme']!;
    }),
  ],
  [
    'an override that sets a template',
    editOverrides((o) => {
      o['acme']!['override'] = { template: 'Hi' };
    }),
  ],
];

const validVector = ([name, text]: readonly [string, string], index: number) => {
  const result = outcome(() => parseLockfile(text));
  if (result.error !== undefined) throw new Error(`lockfile vector '${name}' failed: ${result.error.code}`);
  const lock = result.value;
  return {
    name,
    text,
    expected: {
      releaseSha: lock.releaseSha,
      prompts: Object.fromEntries(
        Object.entries(lock.prompts).map(([prompt, entry]) => [
          prompt,
          { sha: entry.sha, version: entry.version, label: entry.label, embedded: entry.content !== undefined },
        ]),
      ),
    },
    resolutions: (index === 0 ? GETS : SOME_GETS).map((get) => expectGet(get, undefined, lock)),
  };
};

const invalidVector = ([name, text]: readonly [string, string]) => {
  const result = outcome(() => parseLockfile(text));
  if (result.error === undefined) throw new Error(`lockfile vector '${name}' should fail`);
  return { name, text, error: result.error };
};

export const LOCKFILE_FILE = () => ({
  description:
    'promptops.lock verification: parseLockfile (packages/core/src/lockfile.ts) as the SDK fallback loader applies it. A valid lockfile gives `expected` (releaseSha; per prompt sha, version, label and whether content is embedded) and `resolutions`: what get(name, label) answers with this lockfile as the only source (no server, no snapshot), each { get: { name, label? (absent: production) }, expected: { name, version, sha, label, source: "fallback" } } or { get, error: { code: "prompt_not_found" } }. An entry locked from a label answers that label only; an entry locked with label null answers any label. An entry may carry `overrides`: tenant -> { version, sha, label, override, base: { version, sha, content? } | null }, each override checked like the registry checks one (parseOverride) and hashing to its sha, the content of a pinned base to the sha of the base. A refused lockfile gives its PromptopsError code: lockfile_tampered (embedded content or an override does not hash to its sha, or content is filed under another name; releaseSha is not the sha of the canonical JSON of { name: part }, where part is the sha of the entry, or { sha, overrides: { tenant: { sha, label, base: base sha or null } } } for an entry with overrides) or invalid_lockfile (not JSON, or not the schema; embedded content must be prompt content by the schema; a tenant id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$; an override sets only slots, variables and params).',
  valid: VALID.map(validVector),
  invalid: INVALID.map(invalidVector),
});
