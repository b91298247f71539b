import type { ChangeRequestView, DriftReportListItem } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../src/demo/seed.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The demo's drift story through the real services: change request #2 (v17 → v18 of the greeter) shows
 * the offline drift report of `greeter-customers` (20 paired cases: the name mentions fell from 100 % to
 * 0 %), and the greeter's drift page lists bob's stored report.
 */

for (const dialect of DIALECTS) {
  describe(`the demo's drift report on ${dialect}`, () => {
    let registry: TestRegistry;
    const get = async <T>(url: string): Promise<T> => {
      const response = await registry.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${registry.keys.viewer}` },
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json<T>();
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const project = await registry.storage.registry.getProject(registry.projectId);
      await seedDemo(registry.storage, project!, new Date('2026-01-15T12:00:00Z'));
    });
    afterAll(async () => registry.close());

    it('shows the name mentions drifting 100 % → 0 % in change request #2', async () => {
      const requests = await get<{ changeRequests: { id: number; version: number }[] }>(
        '/api/v1/reviews?name=customer_support_greeter&status=open',
      );
      const second = requests.changeRequests.find((cr) => cr.version === 18)!;
      const cr = await get<ChangeRequestView>(`/api/v1/reviews/${second.id}`);
      const customers = cr.checks.drift.suites.find((s) => s.suite === 'greeter-customers')!;
      expect(customers.status).toBe('compared');
      expect(customers.report!.verdict).toMatch(
        /^v18 drifted: outputs mention the user's name 0 % vs 100 % of the time \(20 paired cases, p < 0\.001\)/,
      );
      expect(customers.report!.descriptors.find((d) => d.name === 'mentions.user_name')).toMatchObject({
        a: 1,
        b: 0,
        drifted: true,
      });
      // The taste test's 5 cases are too few to say anything: the report says so instead of guessing.
      const basics = cr.checks.drift.suites.find((s) => s.suite === 'greeter-basics')!;
      expect(basics.report!.descriptors.find((d) => d.name === 'mentions.user_name')!.status).toBe('not enough data');
      expect(cr.checks.drift.message).toContain("greeter-customers: v18 drifted: outputs mention the user's name");
    });

    it('gives the same report on every fresh demo (no wall-clock latency in it)', async () => {
      const reportOf = async (app: TestRegistry): Promise<unknown> => {
        const inject = async <T>(url: string): Promise<T> =>
          (
            await app.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${app.keys.viewer}` } })
          ).json<T>();
        const requests = await inject<{ changeRequests: { id: number; version: number }[] }>(
          '/api/v1/reviews?name=customer_support_greeter&status=open',
        );
        const second = requests.changeRequests.find((cr) => cr.version === 18)!;
        const cr = await inject<ChangeRequestView>(`/api/v1/reviews/${second.id}`);
        return cr.checks.drift.suites.map((s) => ({ suite: s.suite, report: s.report }));
      };
      const fresh = await openTestRegistry(dialect);
      try {
        const project = await fresh.storage.registry.getProject(fresh.projectId);
        await seedDemo(fresh.storage, project!, new Date('2026-01-15T12:00:00Z'));
        expect(JSON.stringify(await reportOf(fresh))).toBe(JSON.stringify(await reportOf(registry)));
      } finally {
        await fresh.close();
      }
    });

    it('lists bob’s stored report on the greeter’s drift page', async () => {
      const { reports } = await get<{ reports: DriftReportListItem[] }>(
        '/api/v1/prompts/customer_support_greeter/drift',
      );
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({
        a: { version: 17 },
        b: { version: 18 },
        source: 'offline',
        suite: 'greeter-customers',
        drifted: true,
        createdBy: 'bob',
      });
    });
  });
}
