import { describe, expect, it } from 'vitest';
import { checkAssertion, runAssertion } from '../src/index.js';
import { heapAfterGc, MB } from './support-heap.js';

/**
 * Checking and running json-schema assertions compiles each distinct schema once; a server validating
 * every pushed suite must not keep every schema it has ever seen. The heap stays bounded across thousands
 * of distinct schemas once the cache is warm.
 */

const ROUND = 800;

const schema = (seed: number) => ({
  type: 'object',
  required: ['answer', `field_${seed}`],
  properties: {
    answer: { type: 'string', minLength: 1, description: `answer ${seed}` },
    [`field_${seed}`]: { type: 'integer', minimum: seed },
    tags: { type: 'array', items: { type: 'string', enum: [`tag-${seed}`, 'other'] } },
  },
});

const checkAndRun = (seed: number): boolean => {
  const assertion = { type: 'json-schema', value: schema(seed) };
  expect(checkAssertion(assertion)).toEqual([]);
  const output = JSON.stringify({ answer: 'yes', [`field_${seed}`]: seed, tags: ['other'] });
  return runAssertion(assertion, { output, vars: {} } as never).pass;
};

describe('json-schema assertion heap', () => {
  it('stays bounded across thousands of distinct schemas', () => {
    let passed = 0;
    for (let seed = 0; seed < ROUND; seed += 1) passed += checkAndRun(seed) ? 1 : 0;
    const before = heapAfterGc();
    for (let seed = ROUND; seed < 2 * ROUND; seed += 1) passed += checkAndRun(seed) ? 1 : 0;
    const growth = heapAfterGc() - before;
    expect(passed).toBe(2 * ROUND);
    expect(growth / MB, `heap grew ${(growth / MB).toFixed(1)} MB`).toBeLessThan(4);
  }, 120_000); // CPU-bound: seconds on a quiet machine, more on a busy two-core one
});
