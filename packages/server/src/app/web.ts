import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DASHBOARD_HEADERS } from './security-headers.js';

/**
 * The dashboard (packages/web) is static files: the server serves its built `dist/` on the API's port and
 * never imports its code. Found by path, so a server without a built dashboard still runs.
 */

/** Where the built dashboard is: `PROMPTOPS_WEB_DIST`, the installed `@promptops/web`, or the monorepo sibling. */
export const locateWebDist = (): string | undefined => {
  const candidates: string[] = [];
  const fromEnv = process.env['PROMPTOPS_WEB_DIST'];
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(fromEnv);
  try {
    candidates.push(join(dirname(createRequire(import.meta.url).resolve('@promptops/web/package.json')), 'dist'));
  } catch {
    // not installed as a package: try the monorepo layout below
  }
  // packages/server/{src,dist}/http -> packages/web/dist
  candidates.push(fileURLToPath(new URL('../../../web/dist', import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
};

export const WEB_BUILD_HINT = 'the dashboard is not built: run `npm run build` (or `npm run build -w @promptops/web`)';

/** The sections of the dashboard's client-side router (packages/web/src/app/app.tsx); a test keeps them in step. */
export const DASHBOARD_SECTIONS = [
  'prompts',
  'traces',
  'reviews',
  'rollouts',
  'incidents',
  'webhooks',
  'audit',
] as const;
const APP_PATH = new RegExp(`^/(index\\.html|(${DASHBOARD_SECTIONS.join('|')})(/[^?]*)?)?(\\?.*)?$`);

/**
 * Paths the dashboard's client-side router owns: `/` and its sections. Anything else (/metrics, /v2/...,
 * a scanner's /.env) gets the API's JSON 404, not a 200 page that looks like success.
 */
const isAppPath = (url: string): boolean => APP_PATH.test(url);

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SAFE_ASSET = /^[\w-]+(\.[\w-]+)*(\/[\w-]+(\.[\w-]+)*)*$/;

const PUBLIC = { config: { permission: 'public' as const }, schema: { hide: true } };

/**
 * Serves the built dashboard, every route public (the data stays behind the API key) and every file with
 * the dashboard's security headers (`security-headers.ts`): `/assets/*` (content-hashed, cached for good;
 * a wildcard, so a rebuild while the server runs is served too) and each other top-level file. There is no
 * `/*` wildcard, so an unknown /api path still needs a key before its 404. Returns the not-found fallback
 * that answers the dashboard's own paths (`/`, client-side routes such as /prompts/NAME) with index.html,
 * or undefined for anything else.
 */
export const registerWeb = async (
  app: FastifyInstance,
  root: string,
): Promise<(request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> | undefined> => {
  const assets = join(root, 'assets');
  await app.register(async (web) => {
    // Only `reply.sendFile` (path checks, ranges, etags); the routes are declared here, with their permission.
    await web.register(fastifyStatic, { root, serve: false, cacheControl: false });
    web.get<{ Params: { '*': string } }>('/assets/*', PUBLIC, (request, reply) => {
      const path = request.params['*'];
      // Asset names are plain (Vite's name-hash.ext); anything else, `..` above all, is simply not there.
      if (!SAFE_ASSET.test(path)) return reply.callNotFound();
      return reply.headers(DASHBOARD_HEADERS).header('cache-control', IMMUTABLE).sendFile(path, assets);
    });
    const topLevelFiles = readdirSync(root, { withFileTypes: true }).filter(
      (entry) => entry.isFile() && entry.name !== 'index.html' && !entry.name.startsWith('.'),
    );
    for (const file of topLevelFiles) {
      web.get(`/${file.name}`, PUBLIC, (_request, reply) =>
        reply.headers(DASHBOARD_HEADERS).header('cache-control', 'no-cache').sendFile(file.name),
      );
    }
  });
  return (request, reply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || !isAppPath(request.url)) return undefined;
    // Read per request (it is tiny), so a rebuilt dashboard never meets a stale index.html.
    return readFile(join(root, 'index.html')).then((html) =>
      reply
        .code(200)
        .type('text/html; charset=utf-8')
        .headers(DASHBOARD_HEADERS)
        .header('cache-control', 'no-cache')
        .send(html),
    );
  };
};
