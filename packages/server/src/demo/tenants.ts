import type { PromptOverride } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { ProjectRow } from '../registry/store.js';
import { createTenantService, type TenantStores } from '../tenants/service.js';
import type { NewTrace, TraceStore } from '../traces/store.js';
import { DEMO_MEMBERS } from './story.js';

/**
 * Two customers' wording of the greeter, layered on what production serves instead of forking it: acme
 * wants a formal address, globex a German one. The greeter declares no slots (adding one would mean a new
 * version, and production must keep serving v18), so the overrides set what an override may set besides
 * slots: the `user_name` default (the address used when no name is passed) and model parameters. dana
 * sets them (production is protected: only an admin may change its overrides), six hours before now; then
 * a few calls per tenant are served with each tenant's effective prompt, so metrics by tenant show them.
 */

const GREETER = 'customer_support_greeter';
const SET_DAYS_AGO = 0.25;
const CALLS_PER_TENANT = 24;

export const DEMO_TENANT_OVERRIDES: Readonly<Record<string, { override: PromptOverride; message: string }>> = {
  acme: {
    override: { variables: { user_name: 'valued customer' }, params: { temperature: 0.1 } },
    message: 'acme: formal address, steadier wording',
  },
  globex: {
    override: { variables: { user_name: 'liebe Kundin, lieber Kunde' }, params: { model: 'gpt-4o', temperature: 0.2 } },
    message: 'globex: German address; gpt-4o for German answers',
  },
};

const ANSWERS: Readonly<Record<string, readonly string[]>> = {
  acme: [
    'Good day. Your order left our warehouse yesterday and should arrive within two days. Is there anything else I can help with?',
    'Good day. Please use "Forgot password" on the sign-in page; the link is valid for one hour. Is there anything else I can help with?',
  ],
  globex: [
    'Hallo! Ihre Bestellung hat gestern unser Lager verlassen und sollte in zwei Tagen ankommen. Kann ich sonst noch helfen?',
    'Hallo! Nutzen Sie „Passwort vergessen" auf der Anmeldeseite; der Link ist eine Stunde gültig. Kann ich sonst noch helfen?',
  ],
};

type DemoTenantStores = TenantStores & { readonly traces: TraceStore };

const seedTenants = async (stores: DemoTenantStores, project: ProjectRow, clock: Clock, now: Date): Promise<void> => {
  const dana = DEMO_MEMBERS.find((member) => member.name === 'dana')!;
  const actor: Actor = {
    projectId: project.id,
    projectName: project.name,
    role: dana.role,
    keyId: 'demo',
    stamp: 0,
    name: dana.name,
    user: dana.name,
  };
  const tenants = createTenantService(stores, clock);
  const start = clock.now().getTime();
  const step = (now.getTime() - start) / (CALLS_PER_TENANT + 1);
  const traces: NewTrace[] = [];
  for (const [tenant, { override, message }] of Object.entries(DEMO_TENANT_OVERRIDES)) {
    await tenants.set(actor, GREETER, tenant, { override, message });
    const { effective } = await tenants.get(actor, GREETER, tenant);
    const answers = ANSWERS[tenant]!;
    for (let i = 0; i < CALLS_PER_TENANT; i += 1) {
      // Varied but fixed figures (the demo is the same on every run).
      const inputTokens = 90 + ((i * 17) % 40);
      const output = answers[i % answers.length]!;
      const outputTokens = 40 + ((i * 11) % 30);
      traces.push({
        eventId: `demo-${tenant}-${i + 1}`,
        traceId: null,
        spanId: null,
        parentSpanId: null,
        promptName: GREETER,
        promptVersion: 18,
        promptSha: effective.baseSha,
        effectiveSha: effective.sha,
        label: 'production',
        tenant,
        rolloutId: null,
        rolloutArm: null,
        releaseSha: null,
        variables: JSON.stringify({ question: i % 2 === 0 ? 'Where is my order?' : 'How do I reset my password?' }),
        output,
        model: effective.content.config.model ?? null,
        provider: 'openai',
        latencyMs: 450 + ((i * 97) % 600),
        inputTokens,
        outputTokens,
        cost: Math.round((inputTokens * 0.15 + outputTokens * 0.6) * 1000) / 1e9,
        status: 'ok',
        error: null,
        attributes: JSON.stringify({ 'service.name': 'support-bot', 'promptops.override_sha': effective.overrideSha }),
        startedAtMs: Math.round(start + (i + 1) * step),
      });
    }
  }
  traces.sort((a, b) => a.startedAtMs - b.startedAtMs);
  await stores.traces.insertTraces(project.id, traces, now.getTime());
};

/** The demo timeline's step that sets the tenants' overrides and records their calls since. */
export const demoTenantSteps = (
  stores: DemoTenantStores,
  project: ProjectRow,
  clock: Clock,
  now: Date,
): { daysAgo: number; run: () => Promise<void> }[] => [
  { daysAgo: SET_DAYS_AGO, run: () => seedTenants(stores, project, clock, now) },
];
