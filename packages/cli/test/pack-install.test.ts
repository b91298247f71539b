import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import { testDatabaseWithCleanup } from '../../server/test/support/databases.js';

/**
 * The packages install and run outside the repository: `node scripts/pack.mjs` (what `npm run pack` runs
 * after the build) packs them into dist/packages/, an empty folder in the temp dir installs every tarball
 * together (plus `openai`, from the npm cache), then `npx promptops --help` runs, the SDK loads from ESM,
 * CommonJS (Node's require of ES modules) and TypeScript, and the README's app snippet runs against a
 * promptops server and a stand-in OpenAI API, and the installed server runs on this Node (on PostgreSQL).
 * Install scripts are skipped (better-sqlite3's native build is only needed by SQLite), which keeps the
 * install under a minute on two cores.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const exec = promisify(execFile);
const TIMEOUT = 240_000;

const readmeSnippet = (): string => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## In your application\n'));
  const start = section.indexOf('```ts\n') + '```ts\n'.length;
  return section.slice(start, section.indexOf('\n```', start));
};

describe('npm pack: the tarballs install and run outside the repository', () => {
  let app: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let openai: Server;
  let openaiUrl: string;
  const adminKey = 'po_pack_install_admin_key_0123456789abcdef';

  beforeAll(async () => {
    const packed = await exec(process.execPath, [join(ROOT, 'scripts/pack.mjs')], { cwd: ROOT });
    const tarballs = packed.stdout
      .trim()
      .split('\n')
      .map((line) => join(ROOT, line));
    expect(tarballs.map((t) => t.replace(/^.*\//, ''))).toEqual([
      'promptops-cli-0.1.0.tgz',
      'promptops-core-0.1.0.tgz',
      'promptops-evals-0.1.0.tgz',
      'promptops-openfeature-0.1.0.tgz',
      'promptops-sdk-0.1.0.tgz',
      'promptops-server-0.1.0.tgz',
    ]);
    app = await mkdtemp(join(tmpdir(), 'promptops-pack-'));
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await exec(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs, 'openai@6'],
      { cwd: app, maxBuffer: 16 * 1024 * 1024 },
    );
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      demo: true,
      dataDir: join(app, 'data'),
      initAdminKey: adminKey,
      print: () => {},
    });
    openai = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 0,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello Ada!' } }],
            usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => openai.listen(0, '127.0.0.1', resolve));
    const address = openai.address();
    openaiUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/v1`;
  }, TIMEOUT);

  afterAll(async () => {
    await server?.close();
    openai?.close();
    if (app !== undefined) await rm(app, { recursive: true, force: true });
  });

  it('installs nothing from the repository: every @promptops package comes from a tarball', () => {
    expect(readdirSync(join(app, 'node_modules/@promptops')).sort()).toEqual([
      'cli',
      'core',
      'evals',
      'openfeature',
      'sdk',
      'server',
    ]);
    const cli = JSON.parse(readFileSync(join(app, 'node_modules/@promptops/cli/package.json'), 'utf8')) as {
      _resolved?: string;
    };
    expect(JSON.stringify(cli)).not.toContain(ROOT);
  });

  it('npx promptops --help runs the installed CLI', async () => {
    const help = await exec('npx', ['--no-install', 'promptops', '--help'], { cwd: app });
    expect(help.stdout).toContain('Usage: promptops');
    expect(help.stdout).toContain('import');
  });

  it('the SDK loads from ESM, CommonJS and TypeScript', async () => {
    await writeFile(
      join(app, 'esm.mjs'),
      [
        "import { createClient } from '@promptops/sdk';",
        "import { PromptopsProvider } from '@promptops/openfeature';",
        'console.log(typeof createClient, typeof PromptopsProvider);',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(app, 'cjs.cjs'),
      "const { createClient } = require('@promptops/sdk');\nconsole.log(typeof createClient);\n",
    );
    for (const [file, expected] of [
      ['esm.mjs', 'function function'],
      ['cjs.cjs', 'function'],
    ]) {
      const ran = await exec(process.execPath, [file!], { cwd: app });
      expect(ran.stdout.trim(), file).toBe(expected);
      expect(ran.stderr, file).toBe('');
    }
  });

  it('the installed server runs on this Node, with the fastify (and cookie) npm resolves for a consumer', async () => {
    // Outside the repo the root's `cookie` override does not apply: light-my-request (fastify's inject)
    // gets cookie 2, which declares node >= 22 but loads on Node >= 20.19 through require(esm).
    await writeFile(
      join(app, 'inject.mjs'),
      [
        "import Fastify from 'fastify';",
        'const app = Fastify();',
        "app.get('/', async (request, reply) => reply.header('set-cookie', 'seen=1; Path=/').send(request.headers.cookie));",
        "const response = await app.inject({ url: '/', cookies: { a: 'b' } });",
        'console.log(response.body, response.cookies[0].name);',
        '',
      ].join('\n'),
    );
    const injected = await exec(process.execPath, ['inject.mjs'], { cwd: app });
    expect(injected.stdout.trim()).toBe('a=b seen');
    expect(injected.stderr).toBe('');

    const database = await testDatabaseWithCleanup('postgres');
    const cli = join(app, 'node_modules/.bin/promptops');
    const serving = spawn(process.execPath, [cli, 'serve', '--port', '0', '--db', database.url], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let seen = '';
      const url = await new Promise<string>((resolve, reject) => {
        serving.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(seen);
          if (match) resolve(match[1]!);
        });
        serving.stderr.on('data', (chunk: Buffer) => (seen += chunk.toString()));
        serving.on('exit', (code) => reject(new Error(`serve exited ${code}: ${seen}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      if (serving.exitCode === null && serving.signalCode === null) {
        const exited = new Promise((resolve) => serving.once('exit', resolve));
        serving.kill('SIGTERM');
        await exited;
      }
      database.cleanup();
    }
  });

  it("runs the README's app snippet, type-checked, against a server and an OpenAI stand-in", async () => {
    const source = readmeSnippet();
    expect(source).toContain("from '@promptops/sdk'");
    await writeFile(join(app, 'app.mts'), source);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['app.mts'],
      }),
    );
    const typecheck = await exec(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], {
      cwd: app,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(typecheck.stdout).toBe('');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    await writeFile(join(app, 'app.mjs'), js);
    const ran = await exec(process.execPath, ['app.mjs'], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        PROMPTOPS_URL: server.url,
        PROMPTOPS_API_KEY: adminKey,
        OPENAI_API_KEY: 'sk-stand-in',
        OPENAI_BASE_URL: openaiUrl,
      },
    });
    expect(ran.stdout.trim()).toMatch(/^customer_support_greeter v\d+: Hello Ada!$/);
  });
});
