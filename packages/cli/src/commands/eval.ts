import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  PromptopsError,
  casesFor,
  parseProviderSpec,
  parseRef,
  promptSha,
  shortSha,
  summarizeRun,
  suiteTenants,
  tenantEffectivePrompt,
  type EvalRunInput,
  type EvalSuiteContent,
  type PromptContent,
  type TenantResolution,
} from '@promptops/core';
import { ApiError } from '../api-client.js';
import { overrideApi, type OverrideRecord } from '../override-api.js';
import { labelArg, type CommandContext } from '../context.js';
import { recordRuns } from '../eval-registry.js';
import { printFailures } from '../eval-failures.js';
import { evalJunitXml } from '../eval-junit.js';
import { loadInlineSuites, loadSuiteFiles, siblingPromptDir, type LoadedSuite } from '../eval-files.js';
import { discoverPromptFiles, displayPath, readPromptFiles, type LoadedPrompt } from '../files.js';
import type { Output } from '../output.js';
import { printVerdict } from './gate.js';
import { registerImportPromptfoo } from './import-promptfoo.js';
import { percent } from './runs.js';
import { integerOption } from './options.js';

/**
 * `promptops eval [SUITE...]`: runs eval suites against prompt versions (the local prompt files, or the
 * registry's version with --ref), prints a table of failures, writes JSON or JUnit on request, and exits
 * 1 when a suite fails. `promptops eval import promptfooconfig.yaml` converts a promptfoo config.
 */

interface EvalOptions {
  readonly prompt?: string;
  readonly ref?: string;
  readonly provider?: string;
  readonly concurrency: number;
  readonly cache: boolean;
  readonly cacheDir?: string;
  readonly junit?: string;
  readonly upload?: boolean;
  readonly against?: string;
}

export interface SuiteRun {
  readonly file: string;
  readonly suite: EvalSuiteContent;
  readonly run: EvalRunInput;
  readonly passed: boolean;
  readonly calls: number;
  /** A tenant's run: the suite on that tenant's effective prompt. */
  readonly tenant?: string;
}

const providerOption = (text: string): string => {
  const spec = parseProviderSpec(text);
  if (!['simulated', 'openai', 'anthropic'].includes(spec.id) || (spec.id !== 'simulated' && spec.model === '')) {
    throw new InvalidArgumentError(
      'a provider is simulated, openai:MODEL or anthropic:MODEL (e.g. openai:gpt-4o-mini)',
    );
  }
  return text;
};

/** The prompt versions the suites need: local files by default, the registry's with --ref. */
const promptSource = async (
  ctx: CommandContext,
  command: Command,
  suites: readonly LoadedSuite[],
  ref: string | undefined,
) => {
  const cache = new Map<string, { content: PromptContent; version: number | null; from: string }>();
  if (ref !== undefined) {
    const client = await ctx.client(command);
    return async (name: string) => {
      const known = cache.get(name);
      if (known !== undefined) return known;
      const version = await client.getVersion(name, ref);
      const entry = { content: version.content, version: version.version, from: `${name}@${ref}` };
      cache.set(name, entry);
      return entry;
    };
  }
  const dirs = new Set(await ctx.promptDirs(command));
  for (const suite of suites) {
    const sibling = siblingPromptDir(suite.absolutePath);
    if (sibling !== undefined) dirs.add(sibling);
  }
  const refs = await discoverPromptFiles([], ctx.io.cwd, { defaults: [...dirs], allowEmpty: true });
  const { prompts, failures } = await readPromptFiles(refs);
  const byName = new Map<string, LoadedPrompt>(prompts.map((p) => [p.content.name, p]));
  return (name: string) => {
    const prompt = byName.get(name);
    if (prompt === undefined) {
      const broken = failures.find((f) => f.ref.pathName === name);
      if (broken !== undefined) throw broken.error;
      throw new PromptopsError('not_found', 'prompt_file_not_found', `no prompt file defines "${name}"`, {
        fix: `add prompts/${name}.prompt.yaml, or run against the registry with --ref (e.g. --ref production)`,
        details: { searched: [...dirs].map((dir) => displayPath(ctx.io.cwd, dir)) },
      });
    }
    return Promise.resolve({ content: prompt.content, version: null, from: prompt.file });
  };
};

/**
 * The label whose tenants' overrides the suites run with: `--against LABEL` (what the gate will check),
 * else `--ref` when it names a label. Undefined: no tenant runs (the overrides live in the registry).
 */
const tenantsLabel = (options: Pick<EvalOptions, 'ref' | 'against'>): string | undefined => {
  if (options.against !== undefined) return options.against;
  if (options.ref === undefined) return undefined;
  const ref = parseRef(options.ref);
  return ref.kind === 'label' ? ref.label : undefined;
};

/**
 * The current overrides following `label`, by prompt name, read from the registry once per prompt. A key
 * that may not list tenants (a tenant-scoped key) runs the shared prompt only, said in a note.
 */
const overridesSource = (client: Parameters<typeof overrideApi>[0], label: string, note: (text: string) => void) => {
  const known = new Map<string, Promise<Map<string, OverrideRecord> | null>>();
  return (name: string): Promise<Map<string, OverrideRecord> | null> => {
    let entry = known.get(name);
    if (entry === undefined) {
      entry = overrideApi(client)
        .list(name)
        .then(
          (records) =>
            new Map(records.filter((r) => r.label === label && r.baseSha === null).map((r) => [r.tenant, r])),
          (error: unknown) => {
            // A prompt the registry does not know yet has no overrides.
            if (error instanceof ApiError && error.status === 404) return new Map<string, OverrideRecord>();
            if (error instanceof ApiError && error.status === 403) {
              note(`${name}: tenants not run: this key may not list their overrides (${error.message})`);
              return null;
            }
            throw error;
          },
        );
      known.set(name, entry);
    }
    return entry;
  };
};

/**
 * The tenants a suite runs for: every tenant whose override follows the label, and every tenant a case
 * names (without an override it is served the shared prompt); only those with a case to run.
 */
const tenantResolutions = (
  suite: EvalSuiteContent,
  base: { readonly name: string; readonly label: string; readonly content: PromptContent },
  overrides: ReadonlyMap<string, OverrideRecord>,
): TenantResolution[] => {
  const sha = promptSha(base.content);
  const tenants = [...new Set([...overrides.keys(), ...suiteTenants(suite)])].sort();
  return tenants
    .filter((tenant) => casesFor(suite, tenant).length > 0)
    .map((tenant) => {
      const record = overrides.get(tenant);
      return tenantEffectivePrompt(
        { ...base, sha },
        tenant,
        record === undefined
          ? null
          : { version: record.version, sha: record.sha, label: record.label, override: record.override },
      );
    });
};

export const discoverSuites = async (
  ctx: CommandContext,
  command: Command,
  paths: readonly string[],
  options: { readonly allowNone?: boolean } = {},
): Promise<LoadedSuite[]> => {
  const suites = await loadSuiteFiles(paths, ctx.io.cwd, { allowMissingDefault: true });
  if (paths.length === 0) {
    const refs = await discoverPromptFiles([], ctx.io.cwd, {
      defaults: await ctx.promptDirs(command),
      allowEmpty: true,
    });
    suites.push(...(await loadInlineSuites((await readPromptFiles(refs)).prompts)));
  }
  // A suite is identified by the prompt it tests and its name (two prompts may each have a `basics`).
  const seen = new Map<string, string>();
  for (const suite of suites) {
    const key = `${suite.content.prompt}\u0000${suite.content.name}`;
    const other = seen.get(key);
    if (other !== undefined && other !== suite.file) {
      throw new PromptopsError(
        'invalid',
        'duplicate_suite',
        `${suite.file}: suite "${suite.content.name}" of prompt "${suite.content.prompt}" is also defined by ${other}`,
        {
          fix: 'give each suite of a prompt its own name: rename one of them or change its name:',
        },
      );
    }
    seen.set(key, suite.file);
  }
  if (suites.length === 0 && options.allowNone !== true) {
    throw new PromptopsError('not_found', 'no_eval_suites', 'no eval suites found', {
      fix: 'add evals/<name>.eval.yaml (see examples/evals/greeter-basics.eval.yaml), or name suite files',
    });
  }
  return suites;
};

const bar = (done: number, total: number, width = 24): string => {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
};

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

const printHuman = (out: Output, runs: readonly SuiteRun[], columns: number | undefined): void => {
  const c = out.colors;
  for (const { run, passed, suite, calls } of runs) {
    const summary = summarizeRun(run.cases);
    const cached = run.cases.filter((x) => x.cached).length;
    const version = run.prompt.version === null ? 'local' : `v${run.prompt.version}`;
    const tenant =
      run.tenant == null
        ? ''
        : ` tenant ${c.bold(run.tenant.id)} (effective ${c.yellow(shortSha(run.tenant.effectiveSha))})`;
    out.line(
      `${passed ? c.green('PASS') : c.red('FAIL')} ${c.bold(suite.name)}  ${run.prompt.name} ${version} (${c.yellow(shortSha(run.prompt.sha))})${tenant}  ${run.provider.id}:${run.provider.model}  ` +
        `${summary.passed}/${summary.total} passed (needs ${percent(suite.passRate)})  score ${summary.score.toFixed(2)}  ` +
        `${c.dim(`${plural(calls, 'call')}, ${cached} cached, ${run.durationMs} ms${summary.cost > 0 ? `, $${summary.cost.toFixed(4)}` : ''}`)}`,
    );
  }
  printFailures(out, runs, columns);
};

/** Runs the suites one after the other (cases concurrently), with progress; `runSuite` comes in lazily. */
export const runLoadedSuites = async (
  ctx: CommandContext,
  command: Command,
  suites: readonly LoadedSuite[],
  options: Pick<EvalOptions, 'ref' | 'provider' | 'concurrency' | 'cache' | 'cacheDir' | 'against'>,
): Promise<SuiteRun[]> => {
  const out = ctx.output(command);
  const evals = await import('@promptops/evals');
  const promptFor = await promptSource(ctx, command, suites, options.ref);
  const label = tenantsLabel(options);
  const overridesOf =
    label === undefined ? undefined : overridesSource(await ctx.client(command), label, (text) => out.note(text));
  const cache =
    options.cache === false
      ? null
      : evals.createFileCache(resolve(ctx.io.cwd, options.cacheDir ?? evals.DEFAULT_CACHE_DIR));
  const providerOptions = {
    env: ctx.io.env,
    ...(ctx.io.fetch === undefined ? {} : { http: { fetch: ctx.io.fetch } }),
  };
  const runs: SuiteRun[] = [];
  for (const loaded of suites) {
    const suite = loaded.content;
    const prompt = await promptFor(suite.prompt);
    const config = options.provider === undefined ? suite.provider : parseProviderSpec(options.provider);
    const provider = evals.createProvider(config, providerOptions);
    const judges = new Map<string, ReturnType<typeof evals.createProvider>>();
    const title = `${suite.name} (${prompt.from}${prompt.version === null ? '' : ` v${prompt.version}`})`;
    const runOne = async (tenant: TenantResolution | undefined): Promise<void> => {
      const what = tenant === undefined ? title : `${title} [tenant ${tenant.tenant}]`;
      const total = casesFor(suite, tenant?.tenant ?? null).length;
      out.progress(`${bar(0, total)} ${what}`);
      const run = await evals.runSuite({
        suite,
        prompt: { content: prompt.content, version: prompt.version },
        ...(tenant === undefined ? {} : { tenant }),
        provider,
        judgeFor: (assertion) => {
          const spec = assertion.options?.provider;
          if (typeof spec !== 'string') return provider;
          let judge = judges.get(spec);
          if (judge === undefined) {
            judge = evals.createProvider(parseProviderSpec(spec), providerOptions);
            judges.set(spec, judge);
          }
          return judge;
        },
        concurrency: options.concurrency,
        cache,
        onProgress: ({ done }) => out.progress(`${bar(done, total)} ${what}`),
      });
      out.done();
      const { stats, ...input } = run;
      runs.push({
        file: loaded.file,
        suite,
        run: input,
        passed: evals.runPassed(suite, input.cases),
        calls: stats.calls,
        ...(tenant === undefined ? {} : { tenant: tenant.tenant }),
      });
    };
    // Cases naming no tenant run on the shared prompt; a suite of tenant cases only has no shared run.
    if (casesFor(suite, null).length > 0) await runOne(undefined);
    if (overridesOf === undefined || label === undefined) {
      const named = suiteTenants(suite);
      if (named.length > 0) {
        out.note(
          `${suite.name}: cases for ${named.join(', ')} not run: tenants' overrides come from the registry; add --ref LABEL or --against LABEL`,
        );
      }
      continue;
    }
    const overrides = await overridesOf(suite.prompt);
    if (overrides === null) continue;
    for (const tenant of tenantResolutions(suite, { name: suite.prompt, label, content: prompt.content }, overrides)) {
      await runOne(tenant);
    }
  }
  return runs;
};

export const registerEval = (program: Command, ctx: CommandContext): void => {
  const evalCommand = program
    .command('eval')
    .description('run eval suites (evals/**/*.eval.yaml) against prompt versions; exit 1 when a suite fails')
    .argument('[suites...]', 'suite files or folders (default: evals/ and suites inline in prompt files)')
    .option('--prompt <name>', 'only the suites that test this prompt')
    .option(
      '--ref <ref>',
      "test the registry's version (v17, a sha prefix or a label) instead of the local prompt file",
    )
    .option(
      '--provider <provider>',
      "override the suites' provider: simulated, openai:MODEL, anthropic:MODEL",
      providerOption,
    )
    .option('--concurrency <n>', 'provider calls at once', integerOption('concurrency', 1, 256), 4)
    .option('--no-cache', 'call the provider for every case, even when a stored result exists')
    .option('--cache-dir <dir>', 'where results are cached (default .promptops/cache/evals)')
    .option('--junit <file>', 'also write JUnit XML to this file')
    .option('--upload', 'record the runs in the registry, which re-scores them (a key with evals:write)')
    .option(
      '--against <label>',
      'record the runs, then ask the eval gate whether the tested versions may move to LABEL; exit 1 when refused',
      (value: string) => labelArg(value),
    )
    .action(async (paths: string[], options: EvalOptions, command: Command) => {
      const out = ctx.output(command);
      let suites = await discoverSuites(ctx, command, paths);
      if (options.prompt !== undefined) {
        suites = suites.filter((s) => s.content.prompt === options.prompt);
        if (suites.length === 0) {
          throw new PromptopsError('not_found', 'no_eval_suites', `no suite tests prompt "${options.prompt}"`, {
            fix: 'check the prompt name, or add a suite with prompt: set to it',
          });
        }
      }
      const runs = await runLoadedSuites(ctx, command, suites, options);
      const recorded =
        options.upload === true || options.against !== undefined
          ? await recordRuns(await ctx.client(command), runs, options.against)
          : undefined;
      if (options.junit !== undefined) {
        const path = resolve(ctx.io.cwd, options.junit);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, evalJunitXml(runs.map(({ run, file }) => ({ run, file }))));
      }
      const passed = runs.every((r) => r.passed) && (recorded?.gates ?? []).every((gate) => gate.passed);
      if (out.json) {
        out.data({
          passed,
          ...(recorded === undefined
            ? {}
            : {
                recorded: recorded.records.map((r) => ({ suite: r.suite.name, runId: r.id, passed: r.passed })),
                ...(options.against === undefined ? {} : { gates: recorded.gates }),
              }),
          suites: runs.map(({ file, run, passed: ok, suite }) => ({
            file,
            passed: ok,
            passRate: suite.passRate,
            summary: summarizeRun(run.cases),
            run,
          })),
        });
      } else {
        printHuman(out, runs, ctx.io.stdout.columns);
        for (const record of recorded?.records ?? []) {
          out.line(`recorded ${record.suite.name} on ${record.prompt.name} as run #${record.id}`);
        }
        for (const gate of recorded?.gates ?? []) printVerdict(out, gate);
      }
      if (!passed) ctx.fail();
    });

  // The first spelling of `promptops import promptfoo`, kept.
  registerImportPromptfoo(evalCommand, ctx, 'import');
};
