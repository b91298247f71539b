import { describe, expect, it } from 'vitest';
import { buildEvent } from '../src/trace/event.js';
import { spanAttributes } from '../src/trace/otel.js';

/**
 * A trace of a tenant's effective prompt carries the tenant, the base version's sha (as `prompt.sha`,
 * which versions and per-sha metrics link to), the effective sha and the override sha; the OTel span
 * gets the same as `promptops.*` attributes. A shared prompt's trace is as before.
 */

const BASE = 'a'.repeat(64);
const EFFECTIVE = 'b'.repeat(64);
const OVERRIDE = 'c'.repeat(64);
const served = {
  name: 'greeter',
  version: 3,
  sha: EFFECTIVE,
  label: 'production',
  variant: 'base',
  source: 'snapshot',
  releaseSha: null,
  tenant: 'acme',
  baseSha: BASE,
  overrideSha: OVERRIDE,
};

describe('trace events of a tenant', () => {
  it('carry tenant, baseSha, effective sha and overrideSha', () => {
    const built = buildEvent({ prompt: served, output: 'hi' }, 'e1', Date.now());
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.event).toMatchObject({
      tenant: 'acme',
      prompt: { name: 'greeter', version: 3, sha: BASE, effectiveSha: EFFECTIVE, overrideSha: OVERRIDE },
    });
    expect(spanAttributes(built.event)).toMatchObject({
      'promptops.tenant': 'acme',
      'promptops.prompt.sha': BASE,
      'promptops.prompt.base_sha': BASE,
      'promptops.prompt.effective_sha': EFFECTIVE,
      'promptops.prompt.override_sha': OVERRIDE,
    });
  });

  it('a tenant without an override: the base sha, no override sha; the explicit tenant wins', () => {
    const built = buildEvent(
      { prompt: { ...served, sha: BASE, overrideSha: null }, tenant: 'acme-eu' },
      'e2',
      Date.now(),
    );
    expect(built.ok && built.event).toMatchObject({ tenant: 'acme-eu', prompt: { sha: BASE, effectiveSha: BASE } });
    expect(built.ok && built.event.prompt).not.toHaveProperty('overrideSha');
  });

  it('a shared prompt is traced as before', () => {
    const built = buildEvent(
      { prompt: { ...served, sha: BASE, tenant: null, overrideSha: null }, output: 'hi' },
      'e3',
      Date.now(),
    );
    expect(built.ok && built.event.prompt).toEqual({ name: 'greeter', version: 3, sha: BASE });
    expect(built.ok && built.event).not.toHaveProperty('tenant');
  });
});
