import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { LOCKFILE_NAME, PromptopsError } from '@promptops/core';
import { DEFAULT_URL, normalizeUrl } from '../config.js';
import type { CommandContext } from '../context.js';
import { DEFAULT_PROMPTS_DIR } from '../files.js';
import { PROJECT_CONFIG_FILE } from '../project-config.js';
import { cliVersion } from '../version.js';

/**
 * `promptops init`: scaffolds prompts as code in the working directory: promptops.yaml, one example
 * prompt, and a GitHub Actions workflow that checks prompts on pull requests and pushes them on merge.
 */

/** The project a fresh server bootstraps (see the server's bootstrap). */
const DEFAULT_PROJECT = 'default';
const EXAMPLE_PROMPT = `${DEFAULT_PROMPTS_DIR}/example_greeter.prompt.yaml`;
const WORKFLOW = '.github/workflows/promptops.yml';

const configText = (
  url: string,
  project: string,
): string => `# promptops: prompts as code. Every promptops command reads this file from the working directory.
# url: the registry (--url and PROMPTOPS_URL override it; keys never go here: use PROMPTOPS_API_KEY).
# project: the project the API key must belong to.
# prompts: folders holding **/*.prompt.yaml (the defaults of push, pull, status, check and lock).
# lock: what \`promptops lock\` writes and \`promptops check\` verifies (the SDK's fallback).
url: ${url}
project: ${JSON.stringify(project)}
prompts:
  - ${DEFAULT_PROMPTS_DIR}
lock: ${LOCKFILE_NAME}
`;

const EXAMPLE_PROMPT_TEXT = `# A chat prompt. Its name comes from the path: example_greeter.
# Check it with \`promptops check\`, push it with \`promptops push\`.
type: chat
model: { provider: openai, name: gpt-4o-mini, temperature: 0.2 }
variables:
  user_name: { type: string }
  question: { type: string }
messages:
  - role: system
    content: |
      You are a helpful support agent.
      Always greet the user by name.
  - role: user
    content: "{{user_name}} asks: {{question}}"
`;

const INSTALL_STEP = `      - name: install the promptops CLI
        run: |
          if ls vendor/promptops/*.tgz > /dev/null 2>&1; then
            npm install --no-save --no-audit --no-fund vendor/promptops/*.tgz
          else
            npm install --no-save --no-audit --no-fund "$PROMPTOPS_CLI"
          fi`;

const workflowText = (
  version: string,
): string => `# promptops: check prompts on every pull request, push them to the registry on merge to main.
# Needs the repository secrets PROMPTOPS_URL and PROMPTOPS_API_KEY (an editor key) for the push.
# The CLI is the npm package @promptops/cli, pinned to the version that wrote this file (PROMPTOPS_CLI).
# Offline, or to run a build of your own: \`npm run pack\` in a promptops clone writes dist/packages/*.tgz;
# commit those under vendor/promptops/ and the install step takes them instead of the registry's.
name: promptops

on:
  pull_request:
  push:
    branches: [main]

env:
  PROMPTOPS_CLI: '@promptops/cli@${version}'

jobs:
  check:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - if: hashFiles('package-lock.json') != ''
        run: npm ci
${INSTALL_STEP}
      - run: npx --no-install promptops check --junit promptops-check.xml
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: promptops-check
          path: promptops-check.xml
          if-no-files-found: ignore

  push:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - if: hashFiles('package-lock.json') != ''
        run: npm ci
${INSTALL_STEP}
      - run: npx --no-install promptops check
      - run: npx --no-install promptops push ${DEFAULT_PROMPTS_DIR} -m "$GITHUB_SHA"
        env:
          PROMPTOPS_URL: \${{ secrets.PROMPTOPS_URL }}
          PROMPTOPS_API_KEY: \${{ secrets.PROMPTOPS_API_KEY }}
`;

const GITIGNORE = '.gitignore';
/** The data directory: the eval cache, and `serve`'s database and credentials when run here. */
const IGNORED = '.promptops/';
const IGNORES_DATA_DIR = /^\/?\.promptops(\/\**)?$/;

/** Adds `.promptops/` to the .gitignore at `path` unless a line already ignores it. */
const ensureIgnored = async (path: string): Promise<'created' | 'updated' | 'unchanged'> => {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) {
    await writeFile(path, `# promptops: the eval cache (and serve's data when run here)\n${IGNORED}\n`);
    return 'created';
  }
  if (text.split(/\r?\n/).some((line) => IGNORES_DATA_DIR.test(line.trim()))) return 'unchanged';
  await writeFile(path, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${IGNORED}\n`);
  return 'updated';
};

const exists = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined)) !== undefined;

export const registerInit = (program: Command, ctx: CommandContext): void => {
  program
    .command('init')
    .description(
      'scaffold prompts as code here: promptops.yaml, an example prompt, a GitHub Actions workflow, and .promptops/ in .gitignore (--url sets the server)',
    )
    .option('--project <name>', `the project the prompts belong to (default: ${DEFAULT_PROJECT})`)
    .option('-f, --force', 'overwrite files that exist')
    .action(async (options: { project?: string; force?: boolean }, command: Command) => {
      const out = ctx.output(command);
      const url = normalizeUrl(ctx.options(command).url ?? DEFAULT_URL);
      const project = options.project ?? DEFAULT_PROJECT;
      if (project.trim() === '') {
        throw new PromptopsError('invalid', 'invalid_project', '--project must not be empty', {
          fix: `name the project, e.g. --project ${DEFAULT_PROJECT}`,
        });
      }
      const files: { file: string; text: string }[] = [
        { file: PROJECT_CONFIG_FILE, text: configText(url, project) },
        { file: EXAMPLE_PROMPT, text: EXAMPLE_PROMPT_TEXT },
        { file: WORKFLOW, text: workflowText(cliVersion()) },
      ];
      const present: string[] = [];
      for (const { file } of files) if (await exists(join(ctx.io.cwd, file))) present.push(file);
      // Checked before writing anything: init never half-scaffolds.
      if (present.length > 0 && options.force !== true) {
        throw new PromptopsError(
          'conflict',
          'file_exists',
          `${present.join(', ')} already exist${present.length === 1 ? 's' : ''}; nothing was written`,
          {
            fix: 'run `promptops init --force` to overwrite, or move the file away first',
            details: { files: present },
          },
        );
      }
      for (const { file, text } of files) {
        const path = join(ctx.io.cwd, file);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text);
      }
      const results: { file: string; status: 'created' | 'overwritten' | 'updated' | 'unchanged' }[] = files.map(
        ({ file }) => ({ file, status: present.includes(file) ? 'overwritten' : 'created' }),
      );
      results.push({ file: GITIGNORE, status: await ensureIgnored(join(ctx.io.cwd, GITIGNORE)) });
      if (out.json) {
        out.data({ url, project, files: results });
        return;
      }
      for (const result of results) {
        if (result.status !== 'unchanged') out.line(`${out.colors.green(result.status)} ${result.file}`);
      }
      out.line();
      out.line('next: edit prompts/, run `promptops check`, then `promptops push`;');
      out.line('      set the PROMPTOPS_URL and PROMPTOPS_API_KEY secrets so CI pushes on merge to main');
    });
};
