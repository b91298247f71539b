import { describe, expect, it } from 'vitest';
import { PromptopsError } from '../src/index.js';

describe('PromptopsError', () => {
  it('is recognised when another copy of core made it (the CLI bundle imports the server)', () => {
    const fromOtherCopy = Object.assign(new Error('from another copy'), { [Symbol.for('promptops.error')]: true });
    expect(fromOtherCopy).toBeInstanceOf(PromptopsError);
    expect(new Error('plain')).not.toBeInstanceOf(PromptopsError);
    expect(null instanceof PromptopsError).toBe(false);
    expect(new PromptopsError('invalid', 'x', 'message')).toBeInstanceOf(PromptopsError);
  });

  it('keeps the ordinary instanceof for subclasses', () => {
    class Narrower extends PromptopsError {}
    expect(new Narrower('conflict', 'y', 'message')).toBeInstanceOf(Narrower);
    expect(new Narrower('conflict', 'y', 'message')).toBeInstanceOf(PromptopsError);
    expect(new PromptopsError('conflict', 'y', 'message')).not.toBeInstanceOf(Narrower);
  });

  it('keeps the brand out of its JSON', () => {
    const error = new PromptopsError('not_found', 'prompt_not_found', 'no prompt "x"', { fix: 'push it first' });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'prompt_not_found',
      message: 'no prompt "x"',
      fix: 'push it first',
    });
  });
});
