import { PromptopsError, overrideSha, shortSha, type FieldIssue } from '@promptops/core';
import { ApiError, isFatal, type ApiClient } from '../api-client.js';
import { toErrorJson, type ErrorJson } from '../errors.js';
import type { Output } from '../output.js';
import { overrideApi } from '../override-api.js';
import { baseShaOf, type LoadedOverride, type OverrideFileFailure } from '../override-files.js';

/**
 * `push` for override files: each file is compared with the tenant's current override (sha, label and
 * pinned base); only a difference is set, through the override API, so an unchanged file adds nothing and
 * a dry run can say what would change without writing.
 */

export type OverridePushResult =
  | {
      readonly name: string;
      readonly tenant: string;
      readonly status: 'set' | 'unchanged';
      /** The override version (for a dry run's `set`: the version it would get). */
      readonly version: number;
      readonly sha: string;
      readonly label: string;
      readonly baseSha: string | null;
      readonly file: string;
    }
  | {
      readonly name: string;
      readonly tenant: string;
      readonly status: 'error';
      readonly file: string;
      readonly error: ErrorJson;
    };

/** Every file parsed, or one error listing each failure (nothing is pushed), as loadPromptFiles does. */
export const loadOverridesOrThrow = (
  { overrides, failures }: { overrides: LoadedOverride[]; failures: OverrideFileFailure[] },
  total: number,
): LoadedOverride[] => {
  if (failures.length === 0) return overrides;
  const issues: (FieldIssue & { file: string })[] = failures.flatMap(({ ref, error }) =>
    (error.issues ?? [{ path: '(root)', message: error.message }]).map((issue) => ({ file: ref.file, ...issue })),
  );
  const first = failures[0]!.error;
  throw new PromptopsError(
    'invalid',
    first.code,
    `${failures.map((f) => f.error.message).join('\n')}\n${failures.length} of ${total} override file${total === 1 ? '' : 's'} invalid; nothing was pushed`,
    {
      issues,
      fix:
        failures.length === 1 ? (first.fix ?? 'correct the file') : 'correct the files listed above, then push again',
      details: { files: failures.map((f) => f.ref.file) },
    },
  );
};

export const pushOverride = async (
  client: ApiClient,
  loaded: LoadedOverride,
  options: { message: string | undefined; dryRun: boolean },
): Promise<OverridePushResult> => {
  const { tenant, name } = loaded.target;
  const { override, label, base, message } = loaded.content;
  const api = overrideApi(client);
  try {
    const sha = overrideSha(override);
    const baseSha = await baseShaOf(client, name, base);
    // A dry run may meet a prompt this push would create: no override yet.
    const current = await api.find(name, tenant).catch((error: unknown) => {
      if (options.dryRun && error instanceof ApiError && error.code === 'prompt_not_found') return null;
      throw error;
    });
    const same =
      current !== null &&
      current.override.sha === sha &&
      current.override.label === label &&
      current.override.baseSha === baseSha;
    const result = { name, tenant, label, sha, baseSha, file: loaded.file };
    if (same) return { ...result, status: 'unchanged', version: current.override.version };
    if (options.dryRun) return { ...result, status: 'set', version: (current?.override.version ?? 0) + 1 };
    const set = await api.set(name, tenant, {
      override,
      message: message ?? options.message ?? `set from ${loaded.file}`,
      label,
      ...(base === null ? {} : { base }),
    });
    return { ...result, status: set.created ? 'set' : 'unchanged', version: set.override.version };
  } catch (error) {
    if (isFatal(error)) throw error;
    if (error instanceof ApiError || error instanceof PromptopsError) {
      return { name, tenant, status: 'error', file: loaded.file, error: toErrorJson(error) };
    }
    throw error;
  }
};

export const describeOverridePush = (result: OverridePushResult, out: Output, dryRun: boolean): string => {
  const c = out.colors;
  const who = `${c.bold(result.name)} for ${c.bold(result.tenant)}`;
  if (result.status === 'error') {
    return `${who}: ${c.red('error')} ${result.error.message} (${result.file})${result.error.fix === undefined ? '' : `\n  fix: ${result.error.fix}`}`;
  }
  const where = result.baseSha === null ? `follows ${result.label}` : `pinned to ${shortSha(result.baseSha)}`;
  const status = result.status === 'set' ? c.green(dryRun ? 'would set' : 'set') : c.dim('unchanged');
  return `${who}: ${status} override v${result.version} ${c.yellow(shortSha(result.sha))} (${where}) ${result.file}`;
};
