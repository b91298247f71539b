import { describe, expect, it } from 'vitest';
import { liveAssertionsOf, passesLiveAssertions, type EvalSuiteContent } from '../src/index.js';

const suite: EvalSuiteContent = {
  name: 'basics',
  prompt: 'greeter',
  provider: { id: 'simulated', model: 'simulated-1', params: {} },
  threshold: 1,
  passRate: 1,
  cases: ['Ana', 'Bo'].map((name, i) => ({
    id: name,
    vars: { user_name: name },
    assert: [
      { type: 'mentions-var', value: 'user_name' },
      { type: 'llm-rubric', value: 'is polite' },
      { type: 'not-icontains', value: 'as an AI' },
      ...(i === 0 ? [{ type: 'icontains', value: 'password' }] : []),
    ],
  })),
};

describe('live assertions', () => {
  it('keeps the deterministic assertions every case carries', () => {
    expect(liveAssertionsOf(suite).map((a) => a.type)).toEqual(['mentions-var', 'not-icontains']);
  });

  it('passes an output only when every applicable assertion passes', () => {
    const live = liveAssertionsOf(suite);
    expect(passesLiveAssertions(live, 'Hello, Ana!', { user_name: 'Ana' })).toBe(true);
    expect(passesLiveAssertions(live, 'Hello!', { user_name: 'Ana' })).toBe(false);
    expect(passesLiveAssertions(live, 'As an AI, hello Ana', { user_name: 'Ana' })).toBe(false);
    // Without the variable, mentions-var does not apply; the other still does.
    expect(passesLiveAssertions(live, 'Hello!', null)).toBe(true);
    expect(passesLiveAssertions(live, null, { user_name: 'Ana' })).toBeNull();
    expect(passesLiveAssertions(live.slice(0, 1), 'Hello!', {})).toBeNull();
  });
});
