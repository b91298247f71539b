import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvalRefusal,
  blameChain,
  bodyLines,
  countedApprovals,
  eligibleApprovers,
  mostSpecific,
  patternMatches,
  standingVerdicts,
  type PromptContent,
} from '../src/index.js';

const text = (template: string): PromptContent =>
  ({ name: 'p', type: 'text', template, config: { params: {} }, variables: {}, slots: {} }) as unknown as PromptContent;
const chat = (...messages: [string, string][]): PromptContent =>
  ({
    name: 'p',
    type: 'chat',
    messages: messages.map(([role, content]) => ({ role, content })),
    config: { params: {} },
    variables: {},
    slots: {},
  }) as unknown as PromptContent;

describe('policy patterns', () => {
  it('matches names, one-level and any-depth globs', () => {
    expect(patternMatches('*', 'support/faq')).toBe(true);
    expect(patternMatches('greeter', 'greeter')).toBe(true);
    expect(patternMatches('greeter', 'greeter2')).toBe(false);
    expect(patternMatches('support/*', 'support/faq')).toBe(true);
    expect(patternMatches('support/*', 'support/a/b')).toBe(false);
    expect(patternMatches('support/**', 'support/a/b')).toBe(true);
    expect(patternMatches('support.v*', 'supportXv1')).toBe(false); // dots are literal
  });

  it('picks the most specific matching entry: exact name, then the longest glob, then *', () => {
    const entries = [
      { pattern: '*' },
      { pattern: 'support/**' },
      { pattern: 'support/faq' },
      { pattern: 'support/f*' },
    ];
    expect(mostSpecific(entries, 'support/faq')?.pattern).toBe('support/faq');
    expect(mostSpecific(entries, 'support/fees')?.pattern).toBe('support/f*');
    expect(mostSpecific(entries, 'support/x/y')?.pattern).toBe('support/**');
    expect(mostSpecific(entries, 'greeter')?.pattern).toBe('*');
    expect(mostSpecific([{ pattern: 'a' }], 'b')).toBeUndefined();
  });
});

describe('approvals', () => {
  const teams = new Map([['support', ['alice', 'carol']]]);

  it('expands teams; owners of the policy and code owners must both hold when both are asked for', () => {
    expect(eligibleApprovers({ owners: [], codeOwners: false }, null, teams)).toBeNull();
    expect([...eligibleApprovers({ owners: ['support', 'bob'], codeOwners: false }, null, teams)!].sort()).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    expect([...eligibleApprovers({ owners: ['support'], codeOwners: true }, ['carol', 'dave'], teams)!]).toEqual([
      'carol',
    ]);
    expect([...eligibleApprovers({ owners: [], codeOwners: true }, null, teams)!]).toEqual([]);
  });

  it('refuses the author unless allowed, a low role, and a non-owner', () => {
    const base = {
      authors: ['dave'],
      policy: { minRole: 'reviewer' as const, authorMayApprove: false },
      eligible: null,
    };
    expect(approvalRefusal({ ...base, actor: 'dave', role: 'admin' })).toBe('author');
    expect(
      approvalRefusal({
        ...base,
        actor: 'dave',
        role: 'admin',
        policy: { minRole: 'reviewer', authorMayApprove: true },
      }),
    ).toBeNull();
    expect(approvalRefusal({ ...base, actor: 'erin', role: 'editor' })).toBe('role');
    expect(approvalRefusal({ ...base, actor: 'erin', role: 'reviewer', eligible: new Set(['alice']) })).toBe(
      'not_owner',
    );
    expect(approvalRefusal({ ...base, actor: 'alice', role: 'reviewer' })).toBeNull();
    expect(
      countedApprovals(['alice', 'alice', 'dave'], { authors: ['dave'], authorMayApprove: false, eligible: null }),
    ).toEqual(['alice']);
  });

  it('keeps the latest verdict per person on the current sha; a new sha voids every earlier one', () => {
    const events = [
      { kind: 'approved', actor: 'alice', sha: 'a' },
      { kind: 'rejected', actor: 'bob', sha: 'a' },
      { kind: 'approved', actor: 'bob', sha: 'a' },
    ];
    expect(standingVerdicts(events, 'a')).toEqual({ approved: [events[0], events[2]], rejected: [] });
    const moved = [
      ...events,
      { kind: 'superseded', actor: 'dave', sha: 'b' },
      { kind: 'superseded', actor: 'dave', sha: 'a' },
    ];
    expect(standingVerdicts(moved, 'a')).toEqual({ approved: [], rejected: [] });
  });
});

describe('blame', () => {
  it('attributes each line of a chat prompt to the version that introduced it in its current form', () => {
    const chain = [
      { version: 1, content: chat(['system', 'You are a support agent.'], ['user', '{{q}}']) },
      {
        version: 2,
        content: chat(['system', 'You are a support agent.\nAlways greet the user by name.'], ['user', '{{q}}']),
      },
      {
        version: 3,
        content: chat(
          ['system', 'You are a helpful support agent.\nAlways greet the user by name.'],
          ['user', '{{q}}'],
        ),
      },
      { version: 4, content: chat(['system', 'You are a helpful support agent.'], ['user', '{{q}}']) },
    ];
    expect(blameChain(chain.slice(0, 3)).map((l) => [l.message?.index, l.text, l.origin])).toEqual([
      [0, 'You are a helpful support agent.', 3],
      [0, 'Always greet the user by name.', 2],
      [1, '{{q}}', 1],
    ]);
    expect(blameChain(chain).map((l) => l.origin)).toEqual([3, 1]);
  });

  it('counts a line moved to another message as new there', () => {
    const lines = blameChain([
      { version: 1, content: chat(['system', 'Be brief.'], ['user', '{{q}}']) },
      { version: 2, content: chat(['system', ''], ['user', 'Be brief.\n{{q}}']) },
    ]);
    expect(lines.map((l) => [l.message?.index, l.text, l.origin])).toEqual([
      [1, 'Be brief.', 2],
      [1, '{{q}}', 1],
    ]);
  });

  it('always returns the last version’s lines, each from a version whose body holds it (property)', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    fc.assert(
      fc.property(fc.array(fc.array(line, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), (bodies) => {
        const chain = bodies.map((body, index) => ({
          version: index,
          content: text(body.map((l) => `${l}\n`).join('')),
        }));
        const blamed = blameChain(chain);
        expect(blamed.map((l) => l.text)).toEqual(bodies.at(-1));
        for (const entry of blamed) {
          // The line is present in every version from its origin to the end.
          for (const later of chain.slice(entry.origin)) {
            expect(bodyLines(later.content).map((l) => l.text)).toContain(entry.text);
          }
        }
      }),
    );
  });
});
