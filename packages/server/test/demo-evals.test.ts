import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEvalSuiteFile, suiteSha } from '@promptops/core';
import { DEMO_SUITE_FILE, demoSuite } from '../src/demo/evals.js';

/** The demo runs the repository's example suite: the two must never drift apart. */
describe('the demo eval suite', () => {
  it('is examples/evals/greeter-basics.eval.yaml, byte for byte and by sha', () => {
    const example = readFileSync(
      fileURLToPath(new URL('../../../examples/evals/greeter-basics.eval.yaml', import.meta.url)),
      'utf8',
    );
    expect(DEMO_SUITE_FILE).toBe(example);
    const parsed = parseEvalSuiteFile(example, { file: 'examples/evals/greeter-basics.eval.yaml' });
    expect(suiteSha(demoSuite())).toBe(suiteSha(parsed));
    expect(demoSuite().cases.map((c) => c.id)).toEqual([
      'alice-password',
      'bob-refund',
      'chen-shipping',
      'dana-invoice',
      'emeka-account',
    ]);
  });
});
