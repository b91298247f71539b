import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentFigures, TimelineEntry } from '@promptops/core';
import { seedDemo } from '../src/demo/seed.js';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, type TestRegistry } from './support/registry.js';

/**
 * The demo's incident #1, as `promptops incident show 1` reads it from the API: dave's break-glass move of
 * v18 to production, the first trace it answered, the monitor's detection, notification and automatic
 * rollback, carol's acknowledgement, the first trace v17 answered again, the resolution, and the figures rebuilt from those facts.
 * Production still serves v18 at the end of the seed (dave forced it again): the tour starts from there.
 */

const NOW = new Date('2026-01-15T12:00:00Z');

interface Shown {
  incident: { id: number; state: string; openedBy: string; monitorId: number | null };
  timeline: TimelineEntry[];
  figures: IncidentFigures;
}

for (const dialect of DIALECTS) {
  describe(`the demo's incident on ${dialect}`, () => {
    let registry: TestRegistry;
    let shown: Shown;

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const project = await registry.storage.registry.getProject(registry.projectId);
      await seedDemo(registry.storage, project!, NOW);
      const reply = await call<Shown>(registry.app, 'GET', '/api/v1/incidents/1', registry.keys.viewer);
      expect(reply.status).toBe(200);
      shown = reply.body;
    }, 180_000);
    afterAll(async () => {
      await registry.close();
    });

    it('tells the story in order, from v18 moving to production to the resolution', () => {
      expect(shown.incident).toMatchObject({ id: 1, state: 'resolved', openedBy: 'monitor:1', monitorId: 1 });
      const kinds = shown.timeline.map((entry) => entry.kind);
      for (const kind of [
        'introduced',
        'first_bad_trace',
        'detected',
        'notified',
        'acknowledged',
        'mitigated',
        'first_good_trace',
        'resolved',
      ] as const) {
        expect(kinds).toContain(kind);
      }
      const at = (kind: string) => Date.parse(shown.timeline.find((entry) => entry.kind === kind)!.at);
      expect(at('introduced')).toBeLessThanOrEqual(at('first_bad_trace'));
      expect(at('first_bad_trace')).toBeLessThan(at('detected'));
      expect(at('detected')).toBeLessThanOrEqual(at('mitigated'));
      expect(at('mitigated')).toBeLessThanOrEqual(at('first_good_trace'));
      expect(at('first_good_trace')).toBeLessThan(at('resolved'));
      const entry = (kind: string) => shown.timeline.find((e) => e.kind === kind)!;
      expect(entry('introduced')).toMatchObject({ actor: 'dave' });
      expect(entry('introduced').text).toContain('v18');
      // The monitor rolled back by itself, as it fired: no person on the path to recovery.
      expect(entry('mitigated').actor).toMatch(/monitor/);
      expect(entry('mitigated').text).toContain('v17');
      expect(entry('acknowledged')).toMatchObject({ actor: 'carol' });
      expect(entry('resolved')).toMatchObject({ actor: 'carol' });
    });

    it('has the figures: times to detect, mitigate and recover, traces affected, scores falling and back', () => {
      const f = shown.figures;
      expect(f.timeToDetectMs).toBeGreaterThan(0);
      expect(f.timeToMitigateMs).toBeGreaterThanOrEqual(f.timeToDetectMs!);
      expect(f.timeToMitigateMs! - f.timeToDetectMs!).toBeLessThan(60_000); // the same tick
      expect(f.timeToRecoverMs).toBeGreaterThanOrEqual(f.timeToMitigateMs!);
      // About the 50 calls the monitor needs before it fires (counted by arrival; the rollback came at once).
      expect(f.tracesAffected).toBeGreaterThan(40);
      // Nearly every call on production while v18 served (a few v17 calls were still arriving).
      expect(f.shareAffected).toBeGreaterThan(0.9);
      expect(f.scores.before).not.toBeNull();
      expect(f.scores.during).not.toBeNull();
      expect(f.scores.after).not.toBeNull();
      expect(f.scores.during!).toBeLessThan(f.scores.before! - 0.1);
      expect(f.scores.after!).toBeGreaterThan(f.scores.during! + 0.1);
    });

    it('ends with v18 on production, as the tour starts', async () => {
      const prompt = await registry.storage.registry.getPrompt(registry.projectId, 'customer_support_greeter');
      const label = await registry.storage.registry.getLabel(prompt!.id, 'production');
      expect(label?.version).toBe(18);
    });
  });
}
