import {
  PromptopsError,
  RegexSyntaxError,
  canonicalJson,
  compileSafeRegex,
  decideTargeting,
  greeter,
  labelRules,
  outcome,
  promptSha,
  resolveFromSnapshot,
  targetingRules,
  type EvaluationContext,
  type Snapshot,
  type SnapshotRollout,
  type SnapshotVersion,
  type TargetingRule,
} from './common.js';

/**
 * Targeting rules (packages/core/src/rollouts/targeting.ts and safe-regex.ts): the regex subset, the
 * rules' checks, decideTargeting, and resolutions of a snapshot whose rollout carries rules or is killed.
 */

const PATTERNS: readonly (readonly [string, string, readonly string[]])[] = [
  ['anchored literal', '^acme$', ['acme', 'acme-eu', 'xacme', '']],
  ['a search without anchors', 'acme', ['the-acme-co', 'ACME']],
  ['alternation in a group', '^(eu|us)-[0-9]+$', ['eu-12', 'us-', 'ap-12', 'eu-1a']],
  ['a negated class and an escaped dot', '^[^@]+@example\\.com$', ['zoë@example.com', 'a@exampleXcom', '@example.com']],
  ['\\w is ASCII only', '^\\w+$', ['user_42', 'José']],
  ['\\d is ASCII only', '^\\d+$', ['0123', '٣']],
  ['\\s is ASCII only', '^a\\sb$', ['a b', 'a\tb', 'a\u00a0b']],
  ['. is any code point, newlines and astral ones too', '^a.c$', ['abc', 'a\nc', 'a😀c', 'a\r\nc']],
  ['$ is the end of the value only', '^ab$', ['ab\n', 'ab']],
  ['an optional piece', 'colou?r', ['color', 'colour', 'colouur']],
  ['a repeated group', '^(ab)+$', ['ab', 'abab', 'aba', '']],
  ['nested stars, linear time', '^(a*)*(a|a)*b$', ['a'.repeat(64), `${'a'.repeat(64)}b`]],
  ['an empty alternative', 'a|', ['zzz']],
  ['escaped punctuation', '^\\(\\+\\)\\[\\]\\{\\}\\.\\*\\?\\|\\^\\$\\\\$', ['(+)[]{}.*?|^$\\']],
  ['a class with ranges and escapes', '^[a-c\\d_\\-]+$', ['ab-9_', 'abd']],
  ['case-sensitive', '^Beta$', ['Beta', 'beta']],
];

const INVALID_PATTERNS: readonly (readonly [string, string])[] = [
  ['a lookahead', '(?=a)'],
  ['a counted repeat', 'a{2}'],
  ['a second quantifier', 'a*+'],
  ['a lazy quantifier', 'a*?'],
  ['a back-reference', '(a)\\1'],
  ['an unclosed group', '(a'],
  ['an unclosed class', '[a'],
  ['a trailing backslash', 'a\\'],
  ['a reversed range', '[b-a]'],
  ['a quantifier with nothing before it', '*a'],
  ['a quantified anchor', '^*'],
  ['a letter escape other than d w s', '\\bword'],
  ['a pattern over 256 characters', 'a'.repeat(257)],
];

const RULES: TargetingRule[] = targetingRules([
  {
    name: 'internal',
    when: [{ attribute: 'email', op: 'regex', values: ['@acme\\.example$'] }],
    serve: { arm: 'candidate' },
  },
  {
    name: 'beta tenants',
    when: [{ attribute: 'tenant', op: 'in', values: ['globex', 'initech'] }],
    serve: { label: 'beta' },
  },
  {
    name: 'old apps stay',
    when: [{ attribute: 'appVersion', op: 'semver_lt', values: ['2.0.0'] }],
    serve: { arm: 'baseline' },
  },
  {
    name: 'half of pro on new apps',
    when: [
      { attribute: 'plan', op: 'equals', values: ['pro'] },
      { attribute: 'appVersion', op: 'semver_gte', values: ['2.0.0'] },
    ],
    serve: { percentage: 50 },
  },
  {
    name: 'not eu',
    when: [
      { attribute: 'region', op: 'not_in', values: ['eu'] },
      { attribute: 'tier', op: 'not_equals', values: ['free'] },
    ],
    serve: { percentage: 0 },
  },
  {
    name: 'flags',
    when: [
      { attribute: 'beta', op: 'equals', values: ['true'] },
      { attribute: 'seats', op: 'in', values: ['5', '10'] },
    ],
    serve: { arm: 'candidate' },
  },
]);

const ROLLOUT = { salt: 'ro_01hx7k', ramp: 10, rules: RULES };

const CONTEXTS: readonly (readonly [string, string | null, EvaluationContext])[] = [
  ['no rule matches: the ramp decides', 'user-42', { tenant: 'umbrella' }],
  ['no rule matches, another unit', 'user-7', {}],
  ['no rule matches, a unit inside the ramp', 'frank', { tenant: 'umbrella' }],
  ['no unit key and no match: the baseline', null, { tenant: 'umbrella' }],
  ['the first rule matches (regex)', 'user-42', { email: 'zoe@acme.example', tenant: 'globex' }],
  ['the second rule (in) serves a label', 'user-42', { tenant: 'initech' }],
  ['a rule serving a label needs no unit key', null, { tenant: 'globex' }],
  ['semver below 2.0.0', 'user-42', { appVersion: '1.9.3' }],
  ['a pre-release is below its release', 'user-42', { appVersion: '2.0.0-rc.1' }],
  ['semver compares numerically (10 > 9)', 'user-42', { appVersion: '10.0.0', plan: 'pro' }],
  ['a leading v is allowed', 'user-42', { appVersion: 'v2.1.0', plan: 'pro' }],
  ['not a semantic version: the condition fails', 'user-42', { appVersion: '2.0', plan: 'pro' }],
  ['a percentage of the segment: unit a', 'alice', { appVersion: '2.0.0', plan: 'pro' }],
  ['a percentage of the segment: unit b', 'bob', { appVersion: '2.0.0', plan: 'pro' }],
  ['a percentage of the segment: unit c', 'carol', { appVersion: '2.0.0', plan: 'pro' }],
  ['a percentage without a unit key: the baseline', null, { appVersion: '2.0.0', plan: 'pro' }],
  ['not_in and not_equals need the attribute present', 'user-42', { region: 'us', tier: 'team' }],
  ['a missing attribute never matches, even not_in', 'user-42', { tier: 'team' }],
  ['booleans compare as true/false, whole numbers in decimal', 'user-42', { beta: true, seats: 10 }],
  ['the text "true" is the boolean true', 'user-42', { beta: 'true', seats: '5' }],
  ['a fraction never matches', 'user-42', { beta: true, seats: 10.5 }],
  ['other types never match', 'user-42', { tenant: ['globex'], plan: 'pro', appVersion: 2 }],
];

const version = (revision: 17 | 18 | 19): SnapshotVersion => {
  const content = greeter(revision);
  return { version: revision, sha: promptSha(content), content };
};

const snapshotWith = (rollout: Partial<SnapshotRollout>): Snapshot => {
  const [v17, v18, v19] = [version(17), version(18), version(19)];
  return {
    project: 'default',
    cursor: 7,
    prompts: {
      customer_support_greeter: {
        labels: { production: v17.sha, beta: v19.sha },
        versions: { [v17.sha]: v17, [v19.sha]: v19 },
        rollouts: {
          production: {
            id: 'ro_01hx7k',
            salt: 'ro_01hx7k',
            mode: 'split',
            state: 'running',
            ramp: 10,
            candidate: v18,
            ...rollout,
          },
        },
      },
    },
  };
};

const SNAPSHOTS: readonly (readonly [string, Partial<SnapshotRollout>])[] = [
  ['a split with rules', { rules: RULES }],
  ['a shadow with rules (a candidate arm is a copy)', { mode: 'shadow', rules: RULES }],
  ['a killed split: the baseline for everyone', { rules: RULES, killed: true, state: 'paused' }],
  [
    'a rule serving a label the snapshot lacks: the baseline',
    { rules: targetingRules([{ when: [], serve: { label: 'gamma' } }]) },
  ],
  ['an empty rule list: the ramp', { rules: [], ramp: 50 }],
];

/** A label's own rules (no rollout needed): served a version by number, or another label. */
const LABEL_RULES = labelRules([
  { name: 'pro gets v18', when: [{ attribute: 'plan', op: 'equals', values: ['pro'] }], serve: { version: 18 } },
  {
    name: 'beta tenants',
    when: [{ attribute: 'tenant', op: 'in', values: ['globex', 'initech'] }],
    serve: { label: 'beta' },
  },
  {
    name: 'a missing label',
    when: [{ attribute: 'tenant', op: 'equals', values: ['hooli'] }],
    serve: { label: 'gamma' },
  },
  {
    name: 'new apps at acme',
    when: [
      { attribute: 'email', op: 'regex', values: ['@acme\\.example$'] },
      { attribute: 'appVersion', op: 'semver_gte', values: ['2.0.0'] },
    ],
    serve: { version: 18 },
  },
]);

/** The snapshot's form of LABEL_RULES: a served version carries its content. */
const labelRulesIn = (): Snapshot['prompts'][string]['labelRules'] => ({
  production: LABEL_RULES.map((rule) => ({
    ...rule,
    serve: 'version' in rule.serve ? { version: version(rule.serve.version as 18) } : rule.serve,
  })),
});

const LABEL_CONTEXTS: readonly (readonly [string, string | null, EvaluationContext])[] = [
  ['no rule matches: the label serves', 'user-42', { tenant: 'umbrella' }],
  ['no context at all: the label serves', null, {}],
  ['a rule serves a version', null, { plan: 'pro' }],
  ['a rule serves another label', 'user-42', { tenant: 'initech', plan: 'free' }],
  ['the first matching rule wins', null, { tenant: 'globex', plan: 'pro' }],
  ['a served label the snapshot lacks: the label serves', null, { tenant: 'hooli' }],
  ['regex and semver together', null, { email: 'zoe@acme.example', appVersion: '2.1.0' }],
  ['semver below the bound: no match', null, { email: 'zoe@acme.example', appVersion: '1.9.0' }],
  ['a unit inside the rollout ramp, no rule: the rollout decides', 'frank', { tenant: 'umbrella' }],
];

const LABEL_SNAPSHOTS: readonly (readonly [string, boolean])[] = [
  ['rules on a bare label', false],
  ['rules on a label under a rollout (tried first)', true],
];

const labelResolutions = () =>
  LABEL_SNAPSHOTS.flatMap(([name, withRollout]) => {
    const base = snapshotWith({});
    const prompt = base.prompts.customer_support_greeter!;
    const { rollouts, ...bare } = prompt;
    const snapshot: Snapshot = {
      ...base,
      prompts: {
        customer_support_greeter: { ...(withRollout ? prompt : bare), labelRules: labelRulesIn() },
      },
    };
    void rollouts;
    const text = canonicalJson(snapshot);
    return LABEL_CONTEXTS.map(([contextName, unitKey, context]) => {
      const r = resolveFromSnapshot(snapshot, 'customer_support_greeter', { unitKey, context })!;
      return {
        name: `${name}: ${contextName}`,
        snapshot: text,
        get: { name: 'customer_support_greeter', unitKey, context },
        expected: {
          version: r.version,
          sha: r.sha,
          label: r.label,
          variant: r.variant,
          rolloutId: r.rolloutId,
          shadowSha: r.shadow?.sha ?? null,
          rule: r.rule ?? null,
          labelRule: r.labelRule ?? null,
        },
      };
    });
  });

const regexVerdict = (pattern: string) => (text: string) => ({ text, matches: compileSafeRegex(pattern).test(text) });

export const TARGETING_FILE = () => ({
  description:
    "Targeting rules (packages/core/src/rollouts/targeting.ts, safe-regex.ts). `patterns`: the regex subset, searched over code points (`matches` per text); `invalidPatterns`: refused at compile time. `invalidRules`: targetingRules(input) gives invalid_targeting_rules naming `paths`. `rules`: the rules of every `decisions` vector; `decisions`: decideTargeting({ ...rollout, rules }, unitKey, context) = { cause, rule, label, arm, bucket }. `invalidRules` concern whatever accepts rules from people (the server); an SDK may skip them. `resolutions`: resolveFromSnapshot(snapshot, name, { label, unitKey, context }) with the fields compared (`shadowSha` the shadow copy's sha or null, `rule` the rule index or null). `labelResolutions`: the same with rules on the label itself (`prompts.NAME.labelRules.LABEL`, tried before its rollout; a served version carries its content), `labelRule` the label rule's index or null.",
  patterns: PATTERNS.map(([name, pattern, texts]) => ({ name, pattern, cases: texts.map(regexVerdict(pattern)) })),
  invalidPatterns: INVALID_PATTERNS.map(([name, pattern]) => {
    try {
      compileSafeRegex(pattern);
    } catch (error) {
      if (error instanceof RegexSyntaxError) return { name, pattern };
      throw error;
    }
    throw new Error(`pattern ${pattern} was accepted`);
  }),
  invalidRules: INVALID_RULES.map(([name, rules]) => {
    try {
      targetingRules(rules);
    } catch (error) {
      if (!(error instanceof PromptopsError)) throw error;
      return { name, rules, error: { code: error.code }, paths: (error.issues ?? []).map((i) => i.path) };
    }
    throw new Error(`rules ${name} were accepted`);
  }),
  rules: RULES,
  decisions: CONTEXTS.map(([name, unitKey, context]) => ({
    name,
    rollout: { salt: ROLLOUT.salt, ramp: ROLLOUT.ramp },
    unitKey,
    context,
    expected: decideTargeting(ROLLOUT, unitKey, context),
  })),
  resolutions: SNAPSHOTS.flatMap(([name, rollout]) => {
    const snapshot = snapshotWith(rollout);
    const text = canonicalJson(snapshot);
    return CONTEXTS.slice(0, 9).map(([contextName, unitKey, context]) => {
      const result = outcome(() => resolveFromSnapshot(snapshot, 'customer_support_greeter', { unitKey, context }));
      const r = result.value!;
      return {
        name: `${name}: ${contextName}`,
        snapshot: text,
        get: { name: 'customer_support_greeter', unitKey, context },
        expected: {
          version: r.version,
          sha: r.sha,
          label: r.label,
          variant: r.variant,
          rolloutId: r.rolloutId,
          shadowSha: r.shadow?.sha ?? null,
          rule: r.rule ?? null,
        },
      };
    });
  }),
  labelResolutions: labelResolutions(),
});

const INVALID_RULES: readonly (readonly [string, unknown])[] = [
  ['not a list', { when: [], serve: { arm: 'candidate' } }],
  [
    'an unknown operator',
    [{ when: [{ attribute: 'tenant', op: 'like', values: ['a'] }], serve: { arm: 'candidate' } }],
  ],
  ['an unknown arm', [{ when: [], serve: { arm: 'both' } }]],
  ['two serves', [{ when: [], serve: { arm: 'candidate', label: 'beta' } }]],
  ['a percentage finer than one bucket', [{ when: [], serve: { percentage: 0.005 } }]],
  [
    'a pattern outside the subset',
    [{ when: [{ attribute: 'e', op: 'regex', values: ['(a+){2}'] }], serve: { arm: 'baseline' } }],
  ],
  [
    'a bound that is not a semantic version',
    [{ when: [{ attribute: 'v', op: 'semver_gte', values: ['2'] }], serve: { arm: 'baseline' } }],
  ],
  [
    'equals takes one value',
    [{ when: [{ attribute: 'e', op: 'equals', values: ['a', 'b'] }], serve: { arm: 'baseline' } }],
  ],
  ['an empty value list', [{ when: [{ attribute: 'e', op: 'in', values: [] }], serve: { arm: 'baseline' } }]],
  ['a label name that is not one', [{ when: [], serve: { label: 'Beta' } }]],
  ['an unknown rule field', [{ when: [], serve: { arm: 'baseline' }, priority: 1 }]],
];
