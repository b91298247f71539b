import { describe, expect, it } from 'vitest';
import { monitorTickMsFrom } from '../src/incidents/runner.js';

describe('PROMPTOPS_MONITOR_TICK_MS', () => {
  it('is a whole number of milliseconds, 100 or more', () => {
    expect(monitorTickMsFrom({})).toBeUndefined();
    expect(monitorTickMsFrom({ PROMPTOPS_MONITOR_TICK_MS: '500' })).toBe(500);
    expect(() => monitorTickMsFrom({ PROMPTOPS_MONITOR_TICK_MS: '1s' })).toThrow(/PROMPTOPS_MONITOR_TICK_MS/);
    expect(() => monitorTickMsFrom({ PROMPTOPS_MONITOR_TICK_MS: '50' })).toThrow(/100 or more/);
  });
});
