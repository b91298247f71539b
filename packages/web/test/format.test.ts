import { describe, expect, it } from 'vitest';
import { decimal, integer, millis, percent, shortSha, timeAgo, versionLabel } from '../src/app/format';

/** The dashboard's display helpers: what a person reads in tables and headers. */

describe('shortSha', () => {
  it('keeps the first 7 characters, and shows nothing for a missing sha', () => {
    expect(shortSha('6f1e2d3c4b5a69788796a5b4c3d2e1f0')).toBe('6f1e2d3');
    expect(shortSha('abc')).toBe('abc');
    expect(shortSha(null)).toBe('');
    expect(shortSha(undefined)).toBe('');
  });
});

describe('timeAgo', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  const ago = (seconds: number): string => timeAgo(new Date(now - seconds * 1000).toISOString(), now);

  it('says "just now" under a minute, either way', () => {
    expect(ago(0)).toBe('just now');
    expect(ago(59)).toBe('just now');
    expect(ago(-30)).toBe('just now');
  });

  it('uses the largest whole unit, rounded', () => {
    expect(ago(60)).toBe('1 minute ago');
    expect(ago(5 * 60)).toBe('5 minutes ago');
    expect(ago(3600)).toBe('1 hour ago');
    expect(ago(100 * 60)).toBe('2 hours ago');
    expect(ago(24 * 3600)).toBe('yesterday');
    expect(ago(3 * 24 * 3600)).toBe('3 days ago');
    expect(ago(14 * 24 * 3600)).toBe('2 weeks ago');
    expect(ago(60 * 24 * 3600)).toBe('2 months ago');
    expect(ago(400 * 24 * 3600)).toBe('last year');
  });

  it('speaks of the future for a time ahead of now (a clock skewed between machines)', () => {
    expect(ago(-2 * 3600)).toBe('in 2 hours');
  });
});

describe('percent', () => {
  it('shows one decimal under 10 %, none above', () => {
    expect(percent(0.025)).toBe('2.5 %');
    expect(percent(0)).toBe('0.0 %');
    expect(percent(0.5)).toBe('50 %');
    expect(percent(1)).toBe('100 %');
  });

  it('shows a dash for no value', () => {
    expect(percent(null)).toBe('–');
    expect(percent(undefined)).toBe('–');
  });
});

describe('millis', () => {
  it('rounds to whole milliseconds under 10 s, seconds with one decimal from there', () => {
    expect(millis(0)).toBe('0 ms');
    expect(millis(12.6)).toBe('13 ms');
    expect(millis(9_999)).toBe('9999 ms');
    expect(millis(10_000)).toBe('10.0 s');
    expect(millis(12_345)).toBe('12.3 s');
    expect(millis(null)).toBe('–');
  });
});

describe('decimal, integer, versionLabel', () => {
  it('formats present values and shows a dash for missing ones', () => {
    expect(decimal(0.8333)).toBe('0.83');
    expect(decimal(2, 0)).toBe('2');
    expect(decimal(undefined)).toBe('–');
    expect(integer(1_234_567)).toBe('1,234,567');
    expect(integer(0)).toBe('0');
    expect(integer(null)).toBe('–');
    expect(versionLabel(17)).toBe('v17');
    expect(versionLabel(0)).toBe('v0');
    expect(versionLabel(null)).toBe('–');
  });
});
