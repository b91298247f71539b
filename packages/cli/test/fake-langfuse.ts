import { createServer, type Server } from 'node:http';
import type { LangfusePrompt } from '@promptops/core';

/**
 * A local stand-in for a Langfuse server's public prompt API, answering its documented shapes:
 * `GET /api/public/v2/prompts` (page, limit; `{ data, meta }`) and `GET /api/public/v2/prompts/{name}`
 * (`version` or `label`), behind Basic auth.
 */

export const FAKE_PUBLIC_KEY = 'pk-lf-test';
export const FAKE_SECRET_KEY = 'sk-lf-test';

/** `prompts` prompts of `versions` versions; labels production, staging and dev sit on fixed versions. */
export const langfuseHistory = (prompts: number, versions: number): LangfusePrompt[][] =>
  Array.from({ length: prompts }, (_, p) => {
    const name = p === 0 ? 'support/greeter' : `prompt-${p}`;
    const at = { production: Math.max(1, versions - 3), staging: Math.max(1, versions - 1), dev: versions };
    return Array.from({ length: versions }, (_, index): LangfusePrompt => {
      const version = index + 1;
      const labels = [
        ...Object.entries(at)
          .filter(([, v]) => v === version)
          .map(([label]) => label),
        ...(version === versions ? ['latest'] : []),
      ];
      const base = {
        name,
        version,
        config: { model: 'gpt-4o-mini', temperature: (version % 10) / 10 },
        labels,
        tags: ['imported', `team-${p}`],
        commitMessage: version % 3 === 0 ? null : `edit ${version} of ${name}`,
      };
      return p % 2 === 0
        ? { ...base, type: 'text', prompt: `Hello {{user_name}}, answer {{question}} (draft ${version}).` }
        : {
            ...base,
            type: 'chat',
            prompt: [
              { role: 'system', content: `You are assistant number ${version}.`, type: 'chatmessage' },
              { role: 'user', content: '{{question}}', type: 'chatmessage' },
            ],
          };
    });
  });

export interface FakeLangfuse {
  readonly url: string;
  /** Requests answered, by path without the query. */
  readonly requests: string[];
  close(): Promise<void>;
}

export const startFakeLangfuse = async (history: LangfusePrompt[][]): Promise<FakeLangfuse> => {
  const requests: string[] = [];
  const expected = `Basic ${Buffer.from(`${FAKE_PUBLIC_KEY}:${FAKE_SECRET_KEY}`).toString('base64')}`;
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    requests.push(url.pathname);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== expected) return send(401, { message: 'Invalid credentials' });
    if (url.pathname === '/api/public/v2/prompts') {
      const page = Number(url.searchParams.get('page') ?? 1);
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const rows = history.map((versions) => ({
        name: versions[0]!.name,
        type: versions[versions.length - 1]!.type,
        versions: versions.map((v) => v.version),
        labels: [...new Set(versions.flatMap((v) => v.labels))],
        tags: versions[0]!.tags,
        lastUpdatedAt: '2026-01-01T00:00:00.000Z',
        lastConfig: versions[versions.length - 1]!.config,
      }));
      return send(200, {
        data: rows.slice((page - 1) * limit, page * limit),
        meta: { page, limit, totalItems: rows.length, totalPages: Math.ceil(rows.length / limit) },
      });
    }
    const prefix = '/api/public/v2/prompts/';
    if (url.pathname.startsWith(prefix)) {
      const name = decodeURIComponent(url.pathname.slice(prefix.length));
      const versions = history.find((v) => v[0]!.name === name) ?? [];
      const version = url.searchParams.get('version');
      const label = url.searchParams.get('label') ?? 'production';
      const found =
        version === null
          ? versions.find((v) => v.labels.includes(label))
          : versions.find((v) => v.version === Number(version));
      return found === undefined
        ? send(404, { message: `Prompt not found: '${name}'`, error: 'LangfuseNotFoundError' })
        : send(200, found);
    }
    send(404, { message: 'not found' });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
};
