import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { PromptopsError, parseLockfile, promptSha, shortSha, unusedVariables, type Lockfile } from '@promptops/core';
import type { CommandContext } from '../context.js';
import {
  discoverPromptFiles,
  readPromptFiles,
  type LoadedPrompt,
  type PromptFileFailure,
  type PromptFileRef,
} from '../files.js';
import { junitXml } from '../junit.js';

/**
 * `promptops check`: the CI gate, offline. Validates every prompt file (schema, template syntax,
 * undeclared and unused variables, duplicate names) and, when there is a lock file, verifies it and
 * checks that it still pins exactly the files' contents. Exit 1 on any problem.
 */

export interface CheckProblem {
  /** The prompt file, or the lock file for problems of the lock itself. */
  readonly file: string;
  readonly name: string | null;
  /** The field, e.g. `messages[1].content` or `variables.tone`; null when the whole file is meant. */
  readonly path: string | null;
  readonly code: string;
  readonly message: string;
  readonly fix: string;
}

export interface CheckedFile {
  readonly file: string;
  readonly name: string;
  /** The content sha, or null when the file is invalid. */
  readonly sha: string | null;
  readonly ok: boolean;
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

export const registerCheck = (program: Command, ctx: CommandContext): void => {
  program
    .command('check')
    .description('validate prompt files and the lock file offline, for CI: exit 1 on any problem (no server needed)')
    .argument('[paths...]', 'prompt files or folders (default: promptops.yaml prompts, else prompts/)')
    .option('--lock <file>', 'lock file to check the files against (default: promptops.yaml lock, else promptops.lock)')
    .option('--junit <file>', 'also write the results as JUnit XML (one testcase per prompt file)')
    .action(async (paths: string[], options: { lock?: string; junit?: string }, command: Command) => {
      const out = ctx.output(command);
      const dirs = await ctx.promptDirs(command);
      const refs = await discoverPromptFiles(paths, ctx.io.cwd, { defaults: dirs, roots: dirs });
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

      const failed = new Set(problems.map((p) => p.file));
      const shaOf = new Map(prompts.map((p) => [p.file, promptSha(p.content)]));
      const nameOf = new Map(prompts.map((p) => [p.file, p.content.name]));
      const files: CheckedFile[] = refs.map((ref: PromptFileRef) => ({
        file: ref.file,
        name: nameOf.get(ref.file) ?? ref.pathName,
        sha: shaOf.get(ref.file) ?? null,
        ok: !failed.has(ref.file),
      }));
      const ok = problems.length === 0;
      if (!ok) ctx.fail();

      if (options.junit !== undefined) {
        const target = resolve(ctx.io.cwd, options.junit);
        const cases = files.map((file) => ({ name: file.name, file: file.file }));
        if (lockPresent) cases.push({ name: lockFile, file: lockFile });
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
      const against = lock === undefined ? '' : ` against ${lockFile} (release ${c.yellow(shortSha(lock.releaseSha))})`;
      const summary = `checked ${plural(files.length, 'prompt file')}${against}`;
      out.line(
        ok
          ? `${summary}: ${c.green('OK')}`
          : `${summary}: ${c.red(`${plural(problems.length, 'problem')} in ${plural(failed.size, 'file')}`)}`,
      );
    });
};
