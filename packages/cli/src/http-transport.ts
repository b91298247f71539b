import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';
import type { HttpAnswer, HttpFetch as CoreHttpFetch, HttpInit } from '@promptops/core/http-client';

/**
 * The CLI's requests to the server over node:http(s). Node 20's global fetch (and Response, Headers)
 * loads undici on first use, which costs 30–100 ms: more than the rest of a short command such as a
 * rollback. The API client needs only this much of fetch; tests may still pass a real fetch.
 */

export type { HttpInit };

/** What the transport answers: fetch's Response as far as the API client reads it. */
export type HttpResponse = HttpAnswer;

export type HttpFetch = CoreHttpFetch<HttpResponse>;

// Loaded on the first request, https only for https URLs: most commands never need TLS.
const load = createRequire(import.meta.url);

export const nodeFetch: HttpFetch = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const http = load(target.protocol === 'https:' ? 'node:https' : 'node:http') as typeof NodeHttp;
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const request = http.request(
      target,
      { method: init.method, headers, ...(init.signal === undefined ? {} : { signal: init.signal }) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const header = (name: string): string | null => {
            const value = response.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          };
          resolve({
            ok: status >= 200 && status < 300,
            status,
            headers: { get: header },
            text: () => Promise.resolve(text),
          });
        });
      },
    );
    request.on('error', (error) => {
      // The shapes fetch rejects with: the signal's reason (a TimeoutError), or an error whose cause is the
      // socket's (code ECONNREFUSED…), which the API client turns into server_unreachable.
      reject(init.signal?.aborted === true ? init.signal.reason : new Error('request failed', { cause: error }));
    });
    request.end(init.body);
  });
