import {
  PromptopsError,
  formatOverrideFile,
  overrideSha,
  parseOverrideFile,
  shortSha,
  type OverrideFile,
} from '@promptops/core';
import { ApiError, isFatal, type ApiClient } from '../api-client.js';
import { toErrorJson, type ErrorJson } from '../errors.js';
import { displayPath, writeFileAtomic } from '../files.js';
import type { Output } from '../output.js';
import { overrideApi, type OverrideRecord } from '../override-api.js';
import {
  baseRefOf,
  baseShaOf,
  discoverOverrideFiles,
  overrideFilePath,
  readOverrideFiles,
  type LoadedOverride,
  type OverrideFileRef,
} from '../override-files.js';

/**
 * `pull` for overrides: each pulled prompt's tenants' current overrides are written to override files. A
 * file that already holds the override (sha, label, base) is never rewritten; one with an override the
 * tenant's history lacks (unpushed work) is kept unless --force.
 */

export type OverridePullResult =
  | {
      readonly name: string;
      readonly tenant: string;
      readonly status: 'created' | 'updated' | 'unchanged';
      readonly version: number;
      readonly sha: string;
      readonly file: string;
    }
  | {
      readonly name: string;
      readonly tenant: string;
      readonly status: 'skipped' | 'error';
      readonly file: string | null;
      readonly error: ErrorJson;
    };

export interface OverrideTree {
  readonly byTarget: ReadonlyMap<string, LoadedOverride>;
  /** Files that do not parse, by target. */
  readonly invalid: ReadonlyMap<string, OverrideFileRef>;
}

const key = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

export const readOverrideTree = async (dirs: readonly string[], cwd: string): Promise<OverrideTree> => {
  const refs = await discoverOverrideFiles([], cwd, dirs);
  const { overrides, failures } = await readOverrideFiles(refs);
  return {
    byTarget: new Map(overrides.map((o) => [key(o.target.tenant, o.target.name), o])),
    invalid: new Map(
      failures.filter((f) => f.ref.target !== null).map((f) => [key(f.ref.target!.tenant, f.ref.target!.name), f.ref]),
    ),
  };
};

const sameAs = async (client: ApiClient, name: string, local: OverrideFile, record: OverrideRecord) =>
  overrideSha(local.override) === record.sha &&
  local.label === record.label &&
  (await baseShaOf(client, name, local.base).catch(() => undefined)) === record.baseSha;

/** The file text for a record; refuses to write what would not read back as the same override. */
const fileText = (record: OverrideRecord, base: string | null, file: string): string => {
  const text = formatOverrideFile({ override: record.override, label: record.label, base, message: record.message });
  const back = parseOverrideFile(text, { file, tenant: record.tenant, name: record.name });
  if (overrideSha(back.override) !== record.sha || back.label !== record.label) {
    throw new PromptopsError(
      'internal',
      'format_not_stable',
      `${file}: does not read back as ${shortSha(record.sha)}`,
      {
        fix: 'report this as a bug, with the override (promptops override show --json)',
      },
    );
  }
  return text;
};

const pullOne = async (
  client: ApiClient,
  record: OverrideRecord,
  tree: OverrideTree,
  options: { dir: string; cwd: string; force: boolean },
): Promise<OverridePullResult> => {
  const { name, tenant } = record;
  const target = key(tenant, name);
  const local = tree.byTarget.get(target);
  const invalid = tree.invalid.get(target);
  const path = local?.absolutePath ?? invalid?.absolutePath ?? overrideFilePath(options.dir, tenant, name);
  const file = local?.file ?? invalid?.file ?? displayPath(options.cwd, path);
  const base = { name, tenant, version: record.version, sha: record.sha, file };
  const kept = (why: string): OverridePullResult => ({
    name,
    tenant,
    status: 'skipped',
    file,
    error: {
      code: 'local_changes',
      message: `${file} ${why}; kept it`,
      fix: `push the file first (\`promptops push ${file}\`), or run pull --force to overwrite it`,
    },
  });
  try {
    if (local !== undefined) {
      if (await sameAs(client, name, local.content, record)) return { ...base, status: 'unchanged' };
      const sha = overrideSha(local.content.override);
      const history = await overrideApi(client).history(name, tenant);
      if (!options.force && !history.some((v) => v.sha === sha)) {
        return kept('has an override that is not in the registry');
      }
    } else if (invalid !== undefined && !options.force) {
      return kept('is not a valid override file (unsaved work?)');
    }
    await writeFileAtomic(path, fileText(record, await baseRefOf(client, name, record.baseSha), file));
    return { ...base, status: local === undefined && invalid === undefined ? 'created' : 'updated' };
  } catch (error) {
    if (isFatal(error) || !(error instanceof ApiError || error instanceof PromptopsError)) throw error;
    return { name, tenant, status: 'error', file, error: toErrorJson(error) };
  }
};

/** Every tenant's current override of each prompt in `names`, written to files. */
export const pullOverrides = async (
  client: ApiClient,
  names: readonly string[],
  tree: OverrideTree,
  options: { dir: string; cwd: string; force: boolean },
  onResult: (result: OverridePullResult) => void,
): Promise<OverridePullResult[]> => {
  const results: OverridePullResult[] = [];
  for (const name of names) {
    let records: readonly OverrideRecord[];
    try {
      records = await overrideApi(client).list(name);
    } catch (error) {
      if (isFatal(error) || !(error instanceof ApiError)) throw error;
      if (error.code === 'prompt_not_found') continue;
      const result: OverridePullResult = { name, tenant: '*', status: 'error', file: null, error: toErrorJson(error) };
      results.push(result);
      onResult(result);
      continue;
    }
    for (const record of [...records].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))) {
      const result = await pullOne(client, record, tree, options);
      results.push(result);
      onResult(result);
    }
  }
  return results;
};

export const describeOverridePull = (result: OverridePullResult, out: Output): string => {
  const c = out.colors;
  const who = `${c.bold(result.name)} for ${c.bold(result.tenant)}`;
  switch (result.status) {
    case 'created':
    case 'updated':
      return `${who}: ${c.green(result.status)} override v${result.version} ${c.yellow(shortSha(result.sha))} ${result.file}`;
    case 'unchanged':
      return `${who}: ${c.dim('unchanged')} override v${result.version} ${c.yellow(shortSha(result.sha))} ${result.file}`;
    case 'skipped':
      return `${who}: ${c.red('skipped')} ${result.error.message}\n  fix: ${result.error.fix ?? ''}`;
    case 'error':
      return `${who}: ${c.red('error')} ${result.error.message}${result.error.fix === undefined ? '' : `\n  fix: ${result.error.fix}`}`;
  }
};
