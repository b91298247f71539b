import type { TimelineEntry } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import {
  canActOnIncidents,
  chartWindow,
  duration,
  recoveryText,
  timelineMarkers,
} from '../src/pages/incident/incident-view';

const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 31, 12, 0) + minutes * 60_000).toISOString();
const entry = (minutes: number, kind: TimelineEntry['kind']): TimelineEntry => ({
  at: at(minutes),
  kind,
  actor: null,
  text: kind,
});

const story: TimelineEntry[] = [
  entry(0, 'introduced'),
  entry(1, 'first_bad_trace'),
  entry(3, 'detected'),
  entry(3, 'opened'),
  entry(3, 'notified'),
  entry(4, 'acknowledged'),
  entry(3, 'mitigated'),
  entry(5, 'first_good_trace'),
  entry(30, 'resolved'),
];

describe('timelineMarkers', () => {
  it('draws the seven steps of the story, not opened or acknowledged, each once', () => {
    const markers = timelineMarkers([...story, entry(40, 'first_bad_trace')]);
    expect(markers.map((marker) => marker.texts[0])).toEqual([
      'introduced',
      'first bad trace',
      'detected',
      'notified',
      'rolled back',
      'first good trace',
      'resolved',
    ]);
    expect(markers[1]!.at).toBe(at(1));
    expect(new Set(markers.map((marker) => marker.id)).size).toBe(7);
  });
});

describe('chartWindow', () => {
  it('pads the story by at least 10 minutes and picks a bucket of at most 90 points', () => {
    const window = chartWindow(story, at(3), Date.parse(at(600)));
    expect(window.since).toBe(at(-10));
    expect(window.until).toBe(at(40));
    expect(window.bucket).toBe('1m');
  });

  it('never asks past now, and widens the bucket for a story of days', () => {
    const long = [entry(0, 'introduced'), entry(2 * 24 * 60, 'detected')];
    const window = chartWindow(long, at(2 * 24 * 60), Date.parse(at(2 * 24 * 60 + 1)));
    expect(window.until).toBe(at(2 * 24 * 60 + 1));
    expect(window.since).toBe(at(-12 * 60));
    expect(window.bucket).toBe('1h');
  });
});

describe('duration and recoveryText', () => {
  it('reads like a person would say it', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(125_000)).toBe('2 m 5 s');
    expect(duration(3_840_000)).toBe('1 h 4 m');
    expect(duration(50 * 3_600_000)).toBe('2 d 2 h');
    expect(duration(null)).toBe('–');
  });

  it('says "not yet" while an incident has not recovered', () => {
    const figures = {
      timeToDetectMs: 1,
      timeToMitigateMs: null,
      timeToRecoverMs: null,
      tracesAffected: 0,
      shareAffected: null,
      scores: { before: null, during: null, after: null },
    };
    expect(recoveryText(figures, 'open')).toBe('not yet');
    expect(recoveryText({ ...figures, timeToRecoverMs: 90_000 }, 'resolved')).toBe('1 m 30 s');
  });
});

describe('canActOnIncidents', () => {
  it('lets editors and up act, not viewers', () => {
    expect(canActOnIncidents('viewer')).toBe(false);
    expect(['editor', 'reviewer', 'deployer', 'admin'].every(canActOnIncidents)).toBe(true);
  });
});
