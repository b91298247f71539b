import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PromptopsError,
  RegexSyntaxError,
  assignArm,
  compileSafeRegex,
  decideTargeting,
  explainResolution,
  promptSha,
  resolveFromSnapshot,
  targetingRules,
  type PromptContent,
  type Snapshot,
  type SnapshotRollout,
  type TargetingRule,
} from '../src/index.js';

/** Targeting rules: the safe regex subset, the operators, first-match order and the kill switch. */

describe('safe regex', () => {
  const cases: [string, string, boolean][] = [
    ['^acme$', 'acme', true],
    ['^acme$', 'acme-eu', false],
    ['acme', 'the-acme-co', true],
    ['^(eu|us)-[0-9]+$', 'eu-12', true],
    ['^(eu|us)-[0-9]+$', 'ap-12', false],
    ['^a.c$', 'a\nc', true],
    ['^[^@]+@example\\.com$', 'zoë@example.com', true],
    ['^[^@]+@example\\.com$', 'zoe@example.org', false],
    ['^\\w+$', 'José', false],
    ['^.$', '😀', true],
    ['colou?r', 'color', true],
    ['^(ab)*$', 'ababab', true],
    ['^(ab)*$', 'ababa', false],
    ['^$', '', true],
    ['a|', 'zzz', true],
  ];
  for (const [pattern, text, expected] of cases.filter(([p]) => !p.includes('{'))) {
    it(`${pattern} on ${JSON.stringify(text)} is ${String(expected)}`, () => {
      expect(compileSafeRegex(pattern).test(text)).toBe(expected);
    });
  }

  it('agrees with the JavaScript engine (flags su) on the subset', () => {
    const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '(a|b)', '(ab)');
    const piece = fc.tuple(atom, fc.constantFrom('', '*', '+', '?')).map(([a, q]) => a + q);
    const pattern = fc
      .tuple(fc.boolean(), fc.array(piece, { maxLength: 5 }), fc.boolean())
      .map(([s, parts, e]) => `${s ? '^' : ''}${parts.join('')}${e ? '$' : ''}`);
    fc.assert(
      fc.property(pattern, fc.string({ unit: fc.constantFrom('a', 'b', '1', 'c'), maxLength: 8 }), (p, text) => {
        expect(compileSafeRegex(p).test(text)).toBe(new RegExp(p, 'su').test(text));
      }),
    );
  });

  it('runs a pattern that hangs a backtracking engine in linear time', () => {
    const regex = compileSafeRegex('^(a*)*(a|a)*b$');
    expect(regex.test('a'.repeat(20_000))).toBe(false);
  });

  for (const bad of ['(?=a)', 'a{2}', 'a**', '\\1', '(a', '[a', 'a\\', '[b-a]', '*a', '^*', 'x'.repeat(257), '\\p']) {
    it(`refuses ${bad.length > 20 ? 'a 257-character pattern' : bad}`, () => {
      expect(() => compileSafeRegex(bad)).toThrow(RegexSyntaxError);
    });
  }
});

const rollout = (rules?: TargetingRule[], killed?: boolean) => ({
  salt: 'ro_1',
  ramp: 10,
  ...(rules === undefined ? {} : { rules }),
  ...(killed === undefined ? {} : { killed }),
});

describe('decideTargeting', () => {
  const rules = targetingRules([
    {
      name: 'acme gets the candidate',
      when: [{ attribute: 'tenant', op: 'in', values: ['acme', 'globex'] }],
      serve: { arm: 'candidate' },
    },
    { when: [{ attribute: 'appVersion', op: 'semver_lt', values: ['2.0.0'] }], serve: { arm: 'baseline' } },
    { when: [{ attribute: 'email', op: 'regex', values: ['@example\\.com$'] }], serve: { label: 'beta' } },
    { when: [{ attribute: 'plan', op: 'equals', values: ['pro'] }], serve: { percentage: 50 } },
  ]);

  it('takes the first rule that matches', () => {
    const out = decideTargeting(rollout(rules), 'u1', { tenant: 'acme', appVersion: '1.0.0' });
    expect(out).toEqual({ cause: 'rule', rule: 0, label: null, arm: 'candidate', bucket: null });
    expect(decideTargeting(rollout(rules), 'u1', { tenant: 'initech', appVersion: '1.9.9' }).rule).toBe(1);
    expect(decideTargeting(rollout(rules), 'u1', { email: 'a@example.com' })).toMatchObject({ rule: 2, label: 'beta' });
  });

  it('orders semantic versions by SemVer precedence (a pre-release is below its release)', () => {
    const lt = (v: string) => decideTargeting(rollout(rules), 'u1', { appVersion: v }).rule === 1;
    expect([lt('1.10.0'), lt('2.0.0-rc.1'), lt('2.0.0'), lt('v2.0.1'), lt('10.0.0'), lt('2.0')]).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('buckets a percentage of the segment on the salt, as the ramp does', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (unit) => {
        const out = decideTargeting(rollout(rules), unit, { plan: 'pro' });
        expect(out.arm).toBe(assignArm('ro_1', unit, 50).arm);
        expect(out.rule).toBe(3);
      }),
    );
    expect(decideTargeting(rollout(rules), null, { plan: 'pro' }).arm).toBe('baseline');
  });

  it('leaves a unit no rule matches, or an attribute of another type, to the ramp', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (unit) => {
        const out = decideTargeting(rollout(rules), unit, { tenant: ['acme'], plan: 1.5 });
        expect(out).toEqual({ cause: 'ramp', rule: null, label: null, ...assignArm('ro_1', unit, 10) });
      }),
    );
  });

  it('compares booleans and whole numbers as text', () => {
    const r = targetingRules([
      {
        when: [
          { attribute: 'beta', op: 'equals', values: ['true'] },
          { attribute: 'seats', op: 'in', values: ['5'] },
        ],
        serve: { arm: 'candidate' },
      },
    ]);
    expect(decideTargeting(rollout(r), null, { beta: true, seats: 5 }).arm).toBe('candidate');
    expect(decideTargeting(rollout(r), null, { beta: 'true', seats: 5.5 }).cause).toBe('ramp');
  });

  it('sends everyone to the baseline when killed, whatever the rules', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('acme', 'x'), (unit, tenant) => {
        expect(decideTargeting(rollout(rules, true), unit, { tenant })).toEqual({
          cause: 'killed',
          rule: null,
          label: null,
          arm: 'baseline',
          bucket: null,
        });
      }),
    );
  });
});

describe('targetingRules', () => {
  const refused = (input: unknown): string[] => {
    try {
      targetingRules(input);
    } catch (error) {
      expect(error).toBeInstanceOf(PromptopsError);
      expect((error as PromptopsError).code).toBe('invalid_targeting_rules');
      return ((error as PromptopsError).issues ?? []).map((i) => i.path);
    }
    throw new Error('accepted');
  };

  it('names every bad field', () => {
    expect(
      refused([
        { when: [{ attribute: 'tenant', op: 'like', values: ['a'] }], serve: { arm: 'both' } },
        { when: [{ attribute: 'v', op: 'semver_gte', values: ['2'] }], serve: { percentage: 0.001 } },
        { when: [{ attribute: 'e', op: 'regex', values: ['(a+)+{'] }], serve: { label: 'Beta' } },
        { when: [{ attribute: 'e', op: 'equals', values: ['a', 'b'] }], serve: { arm: 'candidate', label: 'x' } },
      ]),
    ).toEqual([
      'rules[0].when[0].op',
      'rules[0].serve.arm',
      'rules[1].when[0].values[0]',
      'rules[1].serve.percentage',
      'rules[2].when[0].values[0]',
      'rules[2].serve.label',
      'rules[3].when[0].values',
      'rules[3].serve',
    ]);
    expect(refused({})).toEqual(['']);
  });

  it('keeps valid rules as plain data', () => {
    const input = [{ name: 'all', when: [], serve: { percentage: 12.5 } }];
    expect(targetingRules(input)).toEqual(input);
  });
});

describe('explainResolution', () => {
  const content = (line: string): PromptContent => ({
    name: 'greeter',
    type: 'text',
    config: { params: {} },
    variables: {},
    slots: {},
    template: line,
  });
  const version = (n: number) => ({ version: n, sha: promptSha(content(`v${n}`)), content: content(`v${n}`) });
  const [v1, v2] = [version(1), version(2)];
  const snapshot = (extra: Partial<SnapshotRollout>): Snapshot => ({
    project: 'p',
    cursor: 1,
    prompts: {
      greeter: {
        labels: { production: v1.sha },
        versions: { [v1.sha]: v1 },
        rollouts: {
          production: { id: 'ro_1', salt: 'ro_1', mode: 'split', state: 'running', ramp: 0, candidate: v2, ...extra },
        },
      },
    },
  });
  const rules = targetingRules([
    { name: 'acme', when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { arm: 'candidate' } },
  ]);

  it('names the rule, the arm and the sha', () => {
    const out = explainResolution(snapshot({ rules }), 'greeter', { context: { targetingKey: 'u1', tenant: 'acme' } });
    expect(out).toMatchObject({ cause: 'rule', rule: { index: 0, rule: rules[0] }, unitKey: 'u1' });
    expect(out.resolution).toMatchObject({ variant: 'candidate', sha: v2.sha, rule: 0 });
    expect(out.rollout).toMatchObject({ id: 'ro_1', candidateSha: v2.sha });
  });

  it('says when the ramp decided, the rollout is killed, or the call was pinned', () => {
    const ramp = explainResolution(snapshot({ rules }), 'greeter', { context: { targetingKey: 'u1', tenant: 'x' } });
    expect(ramp).toMatchObject({ cause: 'ramp', rule: null, bucket: assignArm('ro_1', 'u1', 0).bucket });
    expect(ramp.resolution).toMatchObject({ variant: 'baseline', sha: v1.sha });
    const killed = explainResolution(snapshot({ rules, killed: true }), 'greeter', { context: { tenant: 'acme' } });
    expect(killed).toMatchObject({ cause: 'killed', resolution: { variant: 'baseline', sha: v1.sha } });
    expect(explainResolution(snapshot({}), `greeter@${v1.sha}`).cause).toBe('pinned');
    expect(explainResolution(snapshot({}), 'nope').cause).toBe('not_found');
  });

  it('leaves a rollout without rules to the ramp exactly as before', () => {
    fc.assert(
      fc.property(fc.string(), (unit) => {
        const s = snapshot({ ramp: 50 });
        const r = resolveFromSnapshot(s, 'greeter', { unitKey: unit });
        expect(r?.variant).toBe(unit === '' ? 'baseline' : assignArm('ro_1', unit, 50).arm);
        expect(r?.rule).toBeUndefined();
      }),
    );
  });
});
