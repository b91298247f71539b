import { describe, expect, it } from 'vitest';
import { parseLabelRulesText, parseRulesText, ruleSummary } from '../src/pages/rollout/targeting-rules';

/** The rollout page's rules: one line each, and the editor's JSON checked by core before it is sent. */

describe('targeting rules on the rollout page', () => {
  it('summarizes each rule on one line', () => {
    expect(
      ruleSummary({
        name: 'acme first',
        when: [
          { attribute: 'tenant', op: 'in', values: ['acme', 'globex'] },
          { attribute: 'appVersion', op: 'semver_gte', values: ['2.0.0'] },
        ],
        serve: { arm: 'candidate' },
      }),
    ).toBe('"acme first": tenant in [acme, globex] and appVersion semver_gte "2.0.0" → the candidate');
    expect(ruleSummary({ when: [], serve: { percentage: 12.5 } })).toBe('everyone → 12.5 % to the candidate');
    expect(ruleSummary({ when: [], serve: { label: 'beta' } })).toBe('everyone → label beta');
  });

  it('clears on empty text, and names every bad field before anything is sent', () => {
    expect(parseRulesText('  ')).toEqual({ ok: true, rules: null });
    expect(parseRulesText('[]')).toEqual({ ok: true, rules: null });
    expect(parseRulesText('[{')).toMatchObject({ ok: false });
    const bad = parseRulesText(
      JSON.stringify([{ when: [{ attribute: 'e', op: 'regex', values: ['a{2}'] }], serve: {} }]),
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.map((p) => p.split(':')[0])).toEqual([
      'rules[0].when[0].values[0]',
      'rules[0].serve',
    ]);
    const good = [{ when: [{ attribute: 'tenant', op: 'equals', values: ['acme'] }], serve: { arm: 'candidate' } }];
    expect(parseRulesText(JSON.stringify(good))).toEqual({ ok: true, rules: good });
  });

  it("summarizes a label's own rule serving a version, and checks a label's conditions before sending", () => {
    expect(
      ruleSummary({
        name: 'acme stays',
        when: [{ attribute: 'tenant', op: 'equals', values: ['acme'] }],
        serve: { version: 17, sha: 'abc' },
      }),
    ).toBe('"acme stays": tenant equals "acme" → v17');
    const good = [{ when: [{ attribute: 'tenant', op: 'in', values: ['acme'] }], serve: { version: 17 } }];
    expect(parseLabelRulesText(JSON.stringify(good))).toEqual({ ok: true, rules: good });
    expect(parseLabelRulesText('')).toEqual({ ok: true, rules: null });
    const bad = parseLabelRulesText(JSON.stringify([{ when: [{ attribute: 'tenant', op: 'like', values: ['a'] }] }]));
    expect(!bad.ok && bad.problems.map((p) => p.split(':')[0])).toEqual(['rules[0].when[0].op', 'rules[0].serve']);
  });
});
