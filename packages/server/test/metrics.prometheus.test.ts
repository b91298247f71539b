import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app/app.js';
import { parsePrometheusText, type ParsedFamily } from './support/prometheus-parse.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { ingest, traceEvent } from './support/traces.js';

/**
 * `GET /metrics`: Prometheus text, read back by a strict parser of the format, on both databases. Routes
 * are counted by pattern (a prompt's name never becomes a label), the database's figures are the key's
 * project's, a key is needed unless the operator opens the route, and each replica counts its own requests.
 */

const scrape = async (registry: TestRegistry, key?: string) => {
  const response = await registry.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  return response;
};

const family = (families: ParsedFamily[], name: string): ParsedFamily => {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
};

for (const dialect of DIALECTS) {
  describe(`GET /metrics on ${dialect}`, () => {
    let registry: TestRegistry;
    let sha = '';

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const headers = { authorization: `Bearer ${registry.keys.admin}` };
      const pushed = await registry.app.inject({
        method: 'POST',
        url: '/api/v1/prompts/secret-name-greeter/versions',
        headers,
        payload: {
          content: textContent('secret-name-greeter', 'Hello {{user_name}}', {
            user_name: { type: 'string', required: true },
          }),
          parent: null,
        },
      });
      expect(pushed.statusCode, pushed.body).toBe(201);
      sha = pushed.json<{ sha: string }>().sha;
      const moved = await registry.app.inject({
        method: 'PUT',
        url: '/api/v1/prompts/secret-name-greeter/labels/production',
        headers,
        payload: { ref: 'v1' },
      });
      expect(moved.statusCode, moved.body).toBe(200);
      const prompt = { name: 'secret-name-greeter', version: 1, sha };
      const events = [
        ...Array.from({ length: 3 }, (_, i) => traceEvent(`ok-${i}`, { prompt, rollout: undefined })),
        traceEvent('bad-1', { prompt, rollout: undefined, status: 'error', error: 'upstream 500' }),
      ];
      const ingested = await ingest(registry.app, registry.keys.editor, { events });
      expect(ingested.statusCode, ingested.body).toBe(200);
    });
    afterAll(() => registry.close());

    it('answers parseable text with every family, routes by pattern', async () => {
      const response = await scrape(registry, registry.keys.viewer);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const families = parsePrometheusText(response.body);
      for (const name of [
        'promptops_http_requests_total',
        'promptops_http_request_duration_seconds',
        'promptops_ingest_requests_total',
        'promptops_sse_clients',
        'promptops_change_feed_lag_entries',
        'promptops_eval_runs',
        'promptops_rollouts',
        'promptops_label_moves',
        'promptops_prompt_calls_last_hour',
        'promptops_prompt_error_rate_last_hour',
      ]) {
        expect(family(families, name).help, name).not.toBe('');
      }
      const routes = family(families, 'promptops_http_requests_total').samples.map((s) => s.labels['route']);
      expect(routes).toContain('/api/v1/prompts/:name/versions');
      expect(routes.some((route) => route?.includes('secret-name-greeter'))).toBe(false);
      const ingestOutcomes = family(families, 'promptops_ingest_requests_total').samples;
      expect(ingestOutcomes.find((s) => s.labels['outcome'] === 'accepted')?.value).toBe(1);
      const moves = family(families, 'promptops_label_moves').samples;
      expect(moves.find((s) => s.labels['kind'] === 'promote')?.value).toBe(1);
      expect(moves.find((s) => s.labels['kind'] === 'push')?.value).toBe(1);
      expect(family(families, 'promptops_http_request_duration_seconds').type).toBe('histogram');
    });

    it('gives per prompt, label and sha calls and error rates from the rollups', async () => {
      let families: ParsedFamily[] = [];
      // The rollups are kept by the trace writer: wait for them, on the condition, not a duration.
      await vi.waitFor(
        async () => {
          families = parsePrometheusText((await scrape(registry, registry.keys.viewer)).body);
          if (family(families, 'promptops_prompt_calls_last_hour').samples.length === 0)
            throw new Error('no calls yet');
        },
        { timeout: 20_000, interval: 20 },
      );
      const labels = { project: 'default', prompt: 'secret-name-greeter', label: 'production', sha };
      expect(family(families, 'promptops_prompt_calls_last_hour').samples).toContainEqual({
        name: 'promptops_prompt_calls_last_hour',
        labels,
        value: 4,
      });
      expect(family(families, 'promptops_prompt_error_rate_last_hour').samples).toContainEqual({
        name: 'promptops_prompt_error_rate_last_hour',
        labels,
        value: 0.25,
      });
    });

    it('needs a key unless the operator opens it, and each replica counts its own requests', async () => {
      expect((await scrape(registry)).statusCode).toBe(401);
      const replica = await buildApp({ storage: registry.storage, metricsPublic: true });
      try {
        const response = await replica.inject({ method: 'GET', url: '/metrics' });
        expect(response.statusCode).toBe(200);
        const families = parsePrometheusText(response.body);
        // A fresh replica has answered nothing yet; the database's figures are shared.
        expect(family(families, 'promptops_http_requests_total').samples).toEqual([]);
        expect(family(families, 'promptops_label_moves').samples.length).toBeGreaterThan(0);
      } finally {
        await replica.close();
      }
    });

    it('keeps unknown paths near it a JSON 404', async () => {
      for (const url of ['/metrics/x', '/metricsz', '/api/v1/metrics']) {
        const response = await registry.app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${registry.keys.viewer}` },
        });
        expect(response.statusCode, url).toBe(404);
        expect(response.json<{ error: { code: string } }>().error.code, url).toBe('route_not_found');
      }
    });
  });
}
