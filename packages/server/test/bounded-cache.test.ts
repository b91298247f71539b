import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/bounded-cache.js';

describe('BoundedCache', () => {
  it('evicts the oldest entry when full', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
    expect(cache.size).toBe(2);
  });

  it('holds at most maxWeight in all, however few the entries', () => {
    const cache = new BoundedCache<string, string>(1000, 100);
    for (let i = 0; i < 50; i += 1) cache.set(`k${i}`, 'x'.repeat(40), 40);
    expect(cache.weight).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(2);
    expect(cache.get('k49')).toBeDefined();
    expect(cache.get('k47')).toBeUndefined();
  });

  it('does not cache an entry heavier than the whole budget, and drops its older value', () => {
    const cache = new BoundedCache<string, string>(10, 100);
    cache.set('small', 'a', 1);
    cache.set('huge', 'old', 10);
    cache.set('huge', 'new', 101);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('small')).toBe('a');
    expect(cache.weight).toBe(1);
  });

  it('replacing a key keeps the weight exact', () => {
    const cache = new BoundedCache<string, string>(10, 100);
    cache.set('a', 'x', 30);
    cache.set('a', 'y', 50);
    cache.delete('missing');
    expect(cache.weight).toBe(50);
    cache.delete('a');
    expect([cache.weight, cache.size]).toEqual([0, 0]);
  });
});
