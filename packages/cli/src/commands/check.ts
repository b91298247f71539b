import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  PromptopsError,
  gateFailureMessages,
  isOverrideFile,
  parseLockfile,
  promptSha,
  shortSha,
  summarizeRun,
  unusedVariables,
  type EvalGateVerdict,
  type Lockfile,
} from '@promptops/core';
import { labelArg, type CommandContext } from '../context.js';
import { recordRuns } from '../eval-registry.js';
import {
  discoverPromptFiles,
  readPromptFiles,
  type LoadedPrompt,
  type PromptFileFailure,
  type PromptFileRef,
} from '../files.js';
import { junitXml } from '../junit.js';
import { checkOverrideFiles, type CheckedOverride, type CheckProblem } from './check-overrides.js';

export type { CheckProblem } from './check-overrides.js';
import { discoverSuites, runLoadedSuites, type SuiteRun } from './eval.js';
import { percent } from './runs.js';

/**
 * `promptops check`: the CI gate. Validates every prompt file (schema, template syntax, undeclared and
 * unused variables, duplicate names) and, when there is a lock file, verifies it and checks that it still
 * pins exactly the files' contents; then runs the eval suites that cover changed prompts (changed from
 * the lock; every prompt without one), and with `--against LABEL` records those runs and reports the
 * registry's eval gate per prompt. Exit 1 on any problem.
 */

export interface CheckedFile {
  readonly file: string;
  readonly name: string;
  /** The content sha, or null when the file is invalid. */
  readonly sha: string | null;
  readonly ok: boolean;
  /** Set for an override file (`overrides/<tenant>/<name>.override.yaml`): its tenant; `sha` is the override's. */
  readonly tenant?: string | null;
}

const withoutPrefix = (message: string, file: string): string =>
  message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;

/** One problem per field issue, so CI annotations and JUnit point at the field. */
const problemsOf = ({ ref, error }: PromptFileFailure): CheckProblem[] => {
  // A duplicate parsed fine, so its own name is known; otherwise the name its path gives it.
  const name = 'content' in ref ? (ref as LoadedPrompt).content.name : ref.pathName;
  const fix = error.fix ?? 'correct the file';
  if (error.issues === undefined || error.issues.length === 0) {
    return [
      { file: ref.file, name, path: null, code: error.code, message: withoutPrefix(error.message, ref.file), fix },
    ];
  }
  return error.issues.map((issue) => ({
    file: ref.file,
    name,
    path: issue.path === '(yaml)' ? null : issue.path,
    code: issue.path === '(yaml)' ? 'invalid_yaml' : error.code,
    message: issue.path === '(yaml)' ? `YAML: ${issue.message}` : issue.message,
    fix,
  }));
};

const readLock = async (
  path: string,
  display: string,
  explicit: boolean,
): Promise<{ lock?: Lockfile; problem?: CheckProblem; present: boolean }> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { present: false };
    return {
      present: true,
      problem: {
        file: display,
        name: null,
        path: null,
        code: 'lockfile_not_found',
        message: `cannot read ${display}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
        fix: 'run `promptops lock` to write it, or point --lock at the lock file',
      },
    };
  }
  try {
    return { present: true, lock: parseLockfile(text, display) };
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    return {
      present: true,
      problem: {
        file: display,
        name: null,
        path: null,
        code: error.code,
        message: withoutPrefix(error.message, display),
        fix: error.fix ?? 'regenerate it with `promptops lock`',
      },
    };
  }
};

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/** A failing suite or a refused gate, as a problem of the suite file (or of the prompt). */
const evalProblems = (runs: readonly SuiteRun[], gates: readonly EvalGateVerdict[]): CheckProblem[] => [
  ...runs
    .filter((r) => !r.passed)
    .map((r) => {
      const summary = summarizeRun(r.run.cases);
      const failing = r.run.cases.filter((c) => !c.pass).map((c) => c.id);
      return {
        file: r.file,
        name: r.suite.prompt,
        path: null,
        code: 'eval_failed',
        message: `suite "${r.suite.name}"${r.tenant === undefined ? '' : ` for tenant ${r.tenant}`}: ${summary.passed}/${summary.total} cases passed (needs ${percent(r.suite.passRate)}); failing: ${failing.join(', ')}`,
        fix: `see each failure with: promptops eval ${r.file}`,
      };
    }),
  ...gates
    .filter((gate) => !gate.passed)
    .map((gate) => ({
      file: runs.find((r) => r.suite.prompt === gate.prompt)?.file ?? gate.prompt,
      name: gate.prompt,
      path: null,
      code: 'eval_gate_refused',
      message: `the eval gate refuses ${gate.prompt} ${shortSha(gate.sha)} for ${gate.against?.label ?? 'the label'}: ${gateFailureMessages(gate)}`,
      fix: 'fix the prompt so its suites pass without regressing a case, then push and check again',
    })),
];

export const registerCheck = (program: Command, ctx: CommandContext): void => {
  program
    .command('check')
    .description(
      'validate prompt files and the lock file, and run the eval suites of changed prompts, for CI: exit 1 on any problem (a server only with --against)',
    )
    .argument(
      '[paths...]',
      'prompt files, override files or folders (default: promptops.yaml prompts and their overrides/, else prompts/)',
    )
    .option('--lock <file>', 'lock file to check the files against (default: promptops.yaml lock, else promptops.lock)')
    .option('--junit <file>', 'also write the results as JUnit XML (one testcase per prompt file)')
    .option('--no-evals', 'skip the eval suites of changed prompts')
    .option('--no-cache', 'call the eval provider for every case, even when a stored result exists')
    .option(
      '--against <label>',
      'record the eval runs in the registry and report its eval gate per prompt for LABEL (needs the server and a key with evals:write)',
      (value: string) => labelArg(value),
    )
    .action(
      async (
        paths: string[],
        options: { lock?: string; junit?: string; evals: boolean; cache: boolean; against?: string },
        command: Command,
      ) => {
        const out = ctx.output(command);
        const dirs = await ctx.promptDirs(command);
        const promptPaths = paths.filter((p) => !isOverrideFile(p));
        const refs =
          paths.length > 0 && promptPaths.length === 0
            ? []
            : await discoverPromptFiles(promptPaths, ctx.io.cwd, { defaults: dirs, roots: dirs });
        const { prompts, failures } = await readPromptFiles(refs);
        const problems: CheckProblem[] = failures.flatMap(problemsOf);

        for (const prompt of prompts) {
          for (const variable of unusedVariables(prompt.content)) {
            problems.push({
              file: prompt.file,
              name: prompt.content.name,
              path: `variables.${variable}`,
              code: 'unused_variable',
              message: `variable "${variable}" is declared but no template uses {{${variable}}}`,
              fix: `use {{${variable}}} in a template, or remove "${variable}" from variables`,
            });
          }
        }

        const lockPath = await ctx.lockPath(command, options.lock);
        const lockFile = lockPath.display;
        const {
          lock,
          problem: lockProblem,
          present: lockPresent,
        } = await readLock(lockPath.path, lockFile, lockPath.explicit);
        if (lockProblem !== undefined) problems.push(lockProblem);
        if (lock !== undefined) {
          for (const prompt of prompts) {
            const { name } = prompt.content;
            const entry = lock.prompts[name];
            const sha = promptSha(prompt.content);
            if (entry === undefined) {
              problems.push({
                file: prompt.file,
                name,
                path: null,
                code: 'stale_lock',
                message: `stale lock: ${lockFile} has no entry for "${name}" (the file was added after locking)`,
                fix: `push "${name}" and set its label, then run \`promptops lock\`; or remove the file`,
              });
            } else if (entry.sha !== sha) {
              const pinned = `${entry.label === null ? 'pins' : `pins what ${entry.label} served,`} v${entry.version} (${shortSha(entry.sha)})`;
              problems.push({
                file: prompt.file,
                name,
                path: null,
                code: 'stale_lock',
                message: `stale lock: the file's content (${shortSha(sha)}) changed since locking; ${lockFile} ${pinned}`,
                fix: `once this version is pushed and ${entry.label ?? 'the label'} serves it, run \`promptops lock\`; to restore the locked version, run \`promptops pull ${name} --ref ${shortSha(entry.sha)}\``,
              });
            }
          }
          // A lock entry without a file is only known when the whole tree was checked.
          if (paths.length === 0) {
            const names = new Set([...prompts.map((p) => p.content.name), ...failures.map((f) => f.ref.pathName)]);
            for (const [name, entry] of Object.entries(lock.prompts)) {
              if (names.has(name)) continue;
              problems.push({
                file: lockFile,
                name,
                path: `prompts.${name}`,
                code: 'stale_lock',
                message: `stale lock: ${lockFile} pins "${name}" v${entry.version} (${shortSha(entry.sha)}), but no prompt file defines it`,
                fix: `run \`promptops lock\` to drop it, or restore the file with \`promptops pull ${name}\``,
              });
            }
          }
        }

        // Overrides named alone are checked against the prompt folders' files.
        const promptsForOverrides =
          paths.length === 0
            ? prompts
            : [
                ...prompts,
                ...(
                  await readPromptFiles(
                    await discoverPromptFiles([], ctx.io.cwd, { defaults: dirs, roots: dirs, allowEmpty: true }),
                  )
                ).prompts,
              ];
        const checkedOverrides = await checkOverrideFiles(
          paths,
          ctx.io.cwd,
          dirs,
          promptsForOverrides,
          lock === undefined ? undefined : { lock, file: lockFile },
        );
        problems.push(...checkedOverrides.problems);

        // The suites of changed prompts (valid files only: a broken file is reported above).
        let evalRuns: SuiteRun[] = [];
        let gates: readonly EvalGateVerdict[] = [];
        if (options.evals) {
          const changed = new Set(
            prompts
              .filter((p) => lock === undefined || lock.prompts[p.content.name]?.sha !== promptSha(p.content))
              .map((p) => p.content.name),
          );
          try {
            const suites = (await discoverSuites(ctx, command, [], { allowNone: true })).filter((suite) =>
              changed.has(suite.content.prompt),
            );
            if (suites.length > 0) {
              // With --against, the suites also run on each tenant's effective prompt the gate will check.
              evalRuns = await runLoadedSuites(ctx, command, suites, {
                concurrency: 4,
                cache: options.cache,
                ...(options.against === undefined ? {} : { against: options.against }),
              });
              if (options.against !== undefined) {
                gates = (await recordRuns(await ctx.client(command), evalRuns, options.against)).gates;
              }
            }
          } catch (error) {
            if (!(error instanceof PromptopsError) || error.kind !== 'invalid') throw error;
            const file = typeof error.details?.['file'] === 'string' ? error.details['file'] : 'evals';
            problems.push({
              file,
              name: null,
              path: null,
              code: error.code,
              message: error.message,
              fix: error.fix ?? '',
            });
          }
          problems.push(...evalProblems(evalRuns, gates));
        }

        const failed = new Set(problems.map((p) => p.file));
        const shaOf = new Map(prompts.map((p) => [p.file, promptSha(p.content)]));
        const nameOf = new Map(prompts.map((p) => [p.file, p.content.name]));
        const files: CheckedFile[] = [
          ...refs.map((ref: PromptFileRef) => ({
            file: ref.file,
            name: nameOf.get(ref.file) ?? ref.pathName,
            sha: shaOf.get(ref.file) ?? null,
            ok: !failed.has(ref.file),
          })),
          ...checkedOverrides.files.map((o: CheckedOverride) => ({ ...o, ok: !failed.has(o.file) })),
        ];
        const ok = problems.length === 0;
        if (!ok) ctx.fail();

        if (options.junit !== undefined) {
          const target = resolve(ctx.io.cwd, options.junit);
          const cases = files.map((file) => ({ name: file.name, file: file.file }));
          if (lockPresent) cases.push({ name: lockFile, file: lockFile });
          for (const run of evalRuns) cases.push({ name: `eval ${run.suite.name}`, file: run.file });
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, junitXml('promptops check', cases, problems));
          out.note(`wrote JUnit XML to ${options.junit}`);
        }

        if (out.json) {
          out.data({
            ok,
            files,
            lock:
              lock === undefined
                ? null
                : { file: lockFile, releaseSha: lock.releaseSha, prompts: Object.keys(lock.prompts).length },
            evals: evalRuns.map((r) => ({
              file: r.file,
              suite: r.suite.name,
              prompt: r.suite.prompt,
              sha: r.run.prompt.sha,
              passed: r.passed,
              summary: summarizeRun(r.run.cases),
            })),
            ...(options.against === undefined ? {} : { gates }),
            problems,
          });
          return;
        }
        const c = out.colors;
        let current: string | undefined;
        for (const problem of [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
          if (problem.file !== current) {
            current = problem.file;
            out.line(c.bold(problem.file));
          }
          out.line(`  ${problem.path === null ? '' : `${problem.path}: `}${c.red(problem.message)}`);
          out.line(`    ${c.dim('fix:')} ${problem.fix}`);
        }
        for (const run of evalRuns) {
          const summary = summarizeRun(run.run.cases);
          out.line(
            `${run.passed ? c.green('PASS') : c.red('FAIL')} eval ${run.suite.name} on ${run.suite.prompt} (${c.yellow(shortSha(run.run.prompt.sha))}): ${summary.passed}/${summary.total} cases`,
          );
        }
        for (const gate of gates) {
          out.line(
            `eval gate ${gate.prompt} -> ${gate.against?.label ?? '?'}: ${gate.passed ? c.green('passed') : c.red('refused')}`,
          );
        }
        const against =
          lock === undefined ? '' : ` against ${lockFile} (release ${c.yellow(shortSha(lock.releaseSha))})`;
        const suites = evalRuns.length === 0 ? '' : ` and ran ${plural(evalRuns.length, 'eval suite')}`;
        const overrideFiles = checkedOverrides.files.length;
        const checked = `${plural(files.length - overrideFiles, 'prompt file')}${overrideFiles === 0 ? '' : ` and ${plural(overrideFiles, 'override file')}`}`;
        const summary = `checked ${checked}${against}${suites}`;
        out.line(
          ok
            ? `${summary}: ${c.green('OK')}`
            : `${summary}: ${c.red(`${plural(problems.length, 'problem')} in ${plural(failed.size, 'file')}`)}`,
        );
      },
    );
};
