import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutView } from '@promptops/core';
import { run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * `promptops resolve NAME --context` (the decision explained from the server's snapshot), `promptops
 * rollout rules ID --set FILE|--clear` and `promptops rollout kill ID`, against a real server.
 */

const FAQ = (line: string): string => `template: "${line} {{question}}"\nvariables: { question: string }\n`;

const RULES = [
  {
    name: 'acme first',
    when: [{ attribute: 'tenant', op: 'in', values: ['acme', 'globex'] }],
    serve: { arm: 'candidate' },
  },
  { when: [{ attribute: 'appVersion', op: 'semver_lt', values: ['2.0.0'] }], serve: { arm: 'baseline' } },
];

describe('promptops resolve and rollout rules / kill (real server)', () => {
  let registry: Registry;
  let dir: string;
  let id = '';
  let shas: string[] = [];
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-resolve-');
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly:'));
    expect((await cli(['push', '-m', 'first'])).code).toBe(0);
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly and kindly:'));
    expect((await cli(['push', '-m', 'kinder'])).code).toBe(0);
    expect((await cli(['promote', 'faq', 'v1', '--label', 'production'])).code).toBe(0);
    const started = await cli(['rollout', 'start', 'faq', 'v2', '--label', 'production', '--steps', '1,100', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const rollout = started.json<RolloutView>();
    id = rollout.id;
    shas = [rollout.baselineSha!, rollout.candidate.sha];
    await writeAt(dir, 'rules.json', JSON.stringify(RULES));
    await writeAt(
      dir,
      'bad-rules.json',
      JSON.stringify([{ when: [{ attribute: 'tenant', op: 'like', values: ['x'] }], serve: { arm: 'x' } }]),
    );
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('refuses a bad rules file before calling the server, naming each field (exit 2)', async () => {
    const bad = await cli(['rollout', 'rules', id, '--set', 'bad-rules.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('rules[0].when[0].op');
    expect(bad.stderr).toContain('rules[0].serve.arm');
    const both = await cli(['rollout', 'rules', id, '--set', 'rules.json', '--clear']);
    expect(both.code).toBe(2);
  });

  it('sets the rules, shows them, and resolve explains which rule matched, the arm and the sha', async () => {
    const set = await cli(['rollout', 'rules', 'faq', '--set', 'rules.json', '-m', 'acme pilots it']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`set the rules of ${id}`);
    expect(set.stdout).toContain('1. "acme first": tenant in [acme, globex] → the candidate');
    expect(set.stdout).toContain('2. appVersion semver_lt "2.0.0" → the baseline');
    const shown = await cli(['rollout', 'show', id]);
    expect(shown.stdout).toContain('rule 1: "acme first": tenant in [acme, globex] → the candidate');

    const acme = await cli(['resolve', 'faq', '--context', '{"targetingKey":"u1","tenant":"acme"}']);
    expect(acme.code, acme.stderr).toBe(0);
    expect(acme.stdout).toContain(`faq@production → v2 ${shas[1]!.slice(0, 7)} (production, candidate)`);
    expect(acme.stdout).toContain('a targeting rule matched');
    expect(acme.stdout).toContain('rule 1: "acme first"');
    expect(acme.stdout).toContain('unit "u1"');

    const json = await cli(['resolve', 'faq', '--context', '{"tenant":"initech","appVersion":"1.2.0"}', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json()).toMatchObject({
      cause: 'rule',
      rule: { index: 1 },
      resolution: { variant: 'baseline', sha: shas[0], version: 1, rolloutId: id },
      rollout: { id, ramp: 1, candidateSha: shas[1] },
    });

    const ramp = await cli(['resolve', 'faq', '--context', '{"targetingKey":"u1"}', '--json']);
    expect(ramp.json()).toMatchObject({ cause: 'ramp', unitKey: 'u1', rule: null });

    const bad = await cli(['resolve', 'faq', '--context', '[1]']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--context takes a JSON object');
  });

  it('kills the rollout: resolve says everyone gets the baseline; clear removes the rules', async () => {
    const killed = await cli(['rollout', 'kill', id, '-m', 'wrong answers']);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stdout).toContain(`killed ${id}`);
    const acme = await cli(['resolve', 'faq', '--context', '{"tenant":"acme"}', '--json']);
    expect(acme.json()).toMatchObject({ cause: 'killed', resolution: { variant: 'baseline', sha: shas[0] } });
    const human = await cli(['resolve', 'faq', '--context', '{"tenant":"acme"}']);
    expect(human.stdout).toContain('the rollout is killed: everyone gets the baseline');

    const cleared = await cli(['rollout', 'rules', id, '--clear', '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.json()).toMatchObject({ id, rules: null, killed: true });
    const listed = await cli(['rollout', 'rules', id]);
    expect(listed.stdout).toContain('no targeting rules');
    expect(listed.stdout).toContain('killed: everyone gets the baseline until resumed');
  });
});
