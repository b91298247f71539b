/**
 * The demo's data: the README's story. `customer_support_greeter` grows to v17, which greets the
 * user by name; v18, a "wording fix", drops that line. A week before the incident the greeter's
 * `production` became protected (one reviewer's approval, never the author's; later also its eval suite):
 * v17 reached it through change request #1, approved by alice; dave opened #2 for v18, did not wait for a
 * review and, as an admin, forced it through (break glass, with a reason). #2 is still open: the one-line
 * diff, waiting for an approval. Three other prompts make the registry look like a real team's; their
 * labels are not protected. Each step is one push, label move, policy or review action, and each is taken
 * with the role its author has (`DEMO_MEMBERS`), so the audit log never contradicts the members list.
 */
import type { Role } from '../access/store.js';

export type DemoStep =
  | {
      readonly kind: 'push';
      readonly author: string;
      readonly daysAgo: number;
      readonly message: string;
      readonly content: Record<string, unknown>;
    }
  | {
      readonly kind: 'promote';
      readonly author: string;
      readonly daysAgo: number;
      readonly name: string;
      readonly ref: string;
      readonly label: string;
      readonly reason: string;
      /** A break glass: an admin forcing a protected label. */
      readonly force?: boolean;
    }
  | {
      readonly kind: 'protect';
      readonly author: string;
      readonly daysAgo: number;
      readonly label: string;
      /** The prompts the policy governs (a name or a glob). */
      readonly pattern: string;
      readonly approvals: number;
      /** Eval suites the label's policy requires (their runs are seeded by `evals.ts`). */
      readonly suites?: readonly string[];
    }
  | {
      readonly kind: 'review';
      readonly author: string;
      readonly daysAgo: number;
      readonly name: string;
      readonly ref: string;
      readonly label: string;
      readonly message: string;
    }
  | {
      readonly kind: 'approve' | 'merge';
      readonly author: string;
      readonly daysAgo: number;
      /** The change request, by its number in the demo (1, 2, …). */
      readonly request: number;
      readonly comment: string;
    };

const GREETER = 'customer_support_greeter';

interface GreeterState {
  model: string;
  temperature: number;
  lines: string[];
  named: boolean;
}

const greeter = (state: GreeterState): Record<string, unknown> => ({
  name: GREETER,
  type: 'chat',
  config: { provider: 'openai', model: state.model, params: { temperature: state.temperature } },
  variables: state.named
    ? { user_name: { type: 'string', required: true }, question: { type: 'string', required: true } }
    : { question: { type: 'string', required: true } },
  slots: {},
  messages: [
    { role: 'system', content: `${state.lines.join('\n')}\n` },
    { role: 'user', content: state.named ? '{{user_name}} asks: {{question}}' : '{{question}}' },
  ],
});

const GREET = 'Always greet the user by name.';
const CLOSE = 'Always end with "Is there anything else I can help with?"';

/** Each edit returns the next state and the commit message. */
const GREETER_EDITS: readonly [string, string, (s: GreeterState) => void][] = [
  ['alice', 'first support prompt', () => undefined],
  ['alice', 'be helpful', (s) => void (s.lines[0] = 'You are a helpful support agent.')],
  ['bob', 'pass the customer name', (s) => void (s.named = true)],
  ['alice', 'greet customers by name', (s) => void s.lines.push(GREET)],
  ['carol', 'keep answers short', (s) => void s.lines.push('Keep answers under 120 words.')],
  ['bob', 'lower temperature for consistency', (s) => void (s.temperature = 0.3)],
  ['carol', 'admit when unsure', (s) => void s.lines.push('If you do not know the answer, say so.')],
  ['bob', 'switch to gpt-4o-mini (cost)', (s) => void (s.model = 'gpt-4o-mini')],
  ['alice', 'close every answer with an offer to help', (s) => void s.lines.push(CLOSE)],
  ['carol', 'never leak ticket numbers', (s) => void s.lines.push('Never share internal ticket numbers.')],
  ['bob', 'temperature 0.2', (s) => void (s.temperature = 0.2)],
  ['carol', 'tighter word limit', (s) => void (s.lines = s.lines.map((l) => l.replace('120 words', '80 words')))],
  ['alice', 'plain language', (s) => void s.lines.push('Use plain language.')],
  [
    'carol',
    'escalation moved to support/escalation_classifier',
    (s) => void (s.lines = s.lines.filter((l) => !l.startsWith('If you do not know'))),
  ],
  [
    'alice',
    'drop plain-language line (no effect in evals)',
    (s) => void (s.lines = s.lines.filter((l) => l !== 'Use plain language.')),
  ],
  [
    'carol',
    'word limit handled by max_tokens',
    (s) => void (s.lines = s.lines.filter((l) => !l.startsWith('Keep answers'))),
  ],
  [
    'bob',
    'ticket-number rule moved to the shared policy',
    (s) => void (s.lines = s.lines.filter((l) => !l.startsWith('Never share'))),
  ],
  ['dave', 'wording fix: tighten the system prompt', (s) => void (s.lines = s.lines.filter((l) => l !== GREET))],
];

const greeterSteps = (): DemoStep[] => {
  const state: GreeterState = { model: 'gpt-4o', temperature: 0.7, lines: ['You are a support agent.'], named: false };
  const steps: DemoStep[] = [];
  const promotions: Record<number, [string, string, string]> = {
    4: ['alice', 'production', 'first release'],
    9: ['alice', 'production', 'closing line approved by support lead'],
    12: ['carol', 'production', 'shorter answers'],
    15: ['carol', 'production', 'cleanup'],
  };
  GREETER_EDITS.forEach(([author, message, edit], index) => {
    edit(state);
    const version = index + 1;
    const daysAgo = 90 - version * 5 + (version === 18 ? 3 : 0);
    steps.push({ kind: 'push', author, daysAgo, message, content: greeter(state) });
    if (version === 17)
      steps.push({
        kind: 'promote',
        author: 'carol',
        daysAgo: daysAgo - 0.5,
        name: GREETER,
        ref: 'v17',
        label: 'staging',
        reason: 'try the policy move',
      });
    if (version === 17) {
      // production is protected by now: v17 goes through a change request, approved by someone else.
      const request = { author: 'bob', name: GREETER, ref: 'v17', label: 'production' };
      steps.push(
        { kind: 'review', ...request, daysAgo: daysAgo - 0.6, message: 'policy moved out of the prompt' },
        {
          kind: 'approve',
          author: 'alice',
          daysAgo: daysAgo - 0.8,
          request: 1,
          comment: 'the shared policy covers ticket numbers',
        },
        { kind: 'merge', author: 'bob', daysAgo: daysAgo - 1, request: 1, comment: '' },
      );
    }
    if (version === 18) {
      // The incident: the review was skipped with break glass (dave is an admin).
      steps.push(
        {
          kind: 'review',
          author: 'dave',
          name: GREETER,
          ref: 'v18',
          label: 'production',
          daysAgo: daysAgo - 0.5,
          message: 'small wording fix, low risk',
        },
        {
          kind: 'promote',
          author: 'dave',
          // The first time; incident #1 rolled it back, and he forced it again (demo/incidents.ts).
          daysAgo: daysAgo - 0.65,
          name: GREETER,
          ref: 'v18',
          label: 'production',
          reason: 'small wording fix, low risk; change request #2 is waiting for a review',
          force: true,
        },
      );
    }
    const promotion = promotions[version];
    if (promotion) {
      const [by, label, reason] = promotion;
      steps.push({
        kind: 'promote',
        author: by,
        daysAgo: daysAgo - 1,
        name: GREETER,
        ref: `v${version}`,
        label,
        reason,
      });
    }
  });
  return steps;
};

const summarize = (template: string, temperature: number): Record<string, unknown> => ({
  name: 'summarize_ticket',
  type: 'text',
  config: { provider: 'openai', model: 'gpt-4o-mini', params: { temperature } },
  variables: {
    ticket_text: { type: 'string', required: true },
    max_words: { type: 'integer', required: false, default: 60 },
  },
  slots: {},
  template,
});

const classifier = (labels: string): Record<string, unknown> => ({
  name: 'support/escalation_classifier',
  type: 'chat',
  config: {
    provider: 'openai',
    model: 'gpt-4o-mini',
    params: { temperature: 0, response_format: { type: 'json_object' } },
  },
  variables: { message: { type: 'string', required: true } },
  slots: {},
  messages: [
    {
      role: 'system',
      content: `Classify the customer's message. Answer in JSON: {"escalate": true|false, "reason": "...", "team": ${labels}}.\nIf you do not know the answer, escalate.\n`,
    },
    { role: 'user', content: '{{message}}' },
  ],
});

const releaseNotes = (tone: string): Record<string, unknown> => ({
  name: 'release_notes_writer',
  type: 'text',
  config: { provider: 'anthropic', model: 'claude-sonnet-4', params: { max_tokens: 800 } },
  variables: {
    changes: { type: 'array', required: true },
    product: { type: 'string', required: false, default: 'Acme Cloud' },
  },
  slots: { tone },
  template: 'Write release notes for {{product}}.\n{{> tone}}\nChanges:\n{{#changes}}- {{.}}\n{{/changes}}',
});

/**
 * The people of the story and the roles their actions need: alice (support lead) and carol ship and may
 * approve, bob reviews and records eval runs, dana administers (she sets the policies), dave is an admin
 * (which is how he could break glass). The seed acts as each of them with this role.
 */
export const DEMO_MEMBERS: readonly { name: string; displayName: string; role: Role }[] = [
  { name: 'alice', displayName: 'Alice Moreau', role: 'deployer' },
  { name: 'bob', displayName: 'Bob Okafor', role: 'reviewer' },
  { name: 'carol', displayName: 'Carol Jensen', role: 'deployer' },
  { name: 'dana', displayName: 'Dana Whitfield', role: 'admin' },
  { name: 'dave', displayName: 'Dave Kim', role: 'admin' },
];

export const demoSteps = (): DemoStep[] => [
  ...greeterSteps(),
  // The greeter's production became protected after v15 shipped: one approval by a reviewer, never the
  // author's. The other prompts' labels stay unprotected.
  { kind: 'protect', author: 'dana', daysAgo: 8, label: 'production', pattern: GREETER, approvals: 1 },
  // After v17's review, it also requires the greeter's eval suite (passing, no case regressing).
  {
    kind: 'protect',
    author: 'dana',
    daysAgo: 3.9,
    label: 'production',
    pattern: GREETER,
    approvals: 1,
    suites: ['greeter-basics'],
  },
  {
    kind: 'push',
    author: 'carol',
    daysAgo: 40,
    message: 'ticket summaries',
    content: summarize('Summarize this support ticket in at most {{max_words}} words:\n\n{{ticket_text}}\n', 0.3),
  },
  {
    kind: 'push',
    author: 'carol',
    daysAgo: 30,
    message: 'keep the customer intent first',
    content: summarize(
      'Summarize this support ticket in at most {{max_words}} words.\nStart with what the customer wants.\n\n{{ticket_text}}\n',
      0.3,
    ),
  },
  {
    kind: 'push',
    author: 'bob',
    daysAgo: 20,
    message: 'deterministic summaries',
    content: summarize(
      'Summarize this support ticket in at most {{max_words}} words.\nStart with what the customer wants.\n\n{{ticket_text}}\n',
      0,
    ),
  },
  {
    kind: 'promote',
    author: 'carol',
    daysAgo: 19,
    name: 'summarize_ticket',
    ref: 'v3',
    label: 'production',
    reason: 'evals green',
  },
  // Tried on a share of production tickets by a split rollout (demo/rollouts.ts), running now.
  {
    kind: 'push',
    author: 'carol',
    daysAgo: 1,
    message: 'lead with what the customer wants, then the cause',
    content: summarize(
      'Summarize this support ticket in at most {{max_words}} words.\nFirst line: what the customer wants. Second line: the cause, if known.\n\n{{ticket_text}}\n',
      0,
    ),
  },
  {
    kind: 'push',
    author: 'carol',
    daysAgo: 35,
    message: 'escalation classifier',
    content: classifier('"billing"|"technical"'),
  },
  {
    kind: 'push',
    author: 'carol',
    daysAgo: 25,
    message: 'add the accounts team',
    content: classifier('"billing"|"technical"|"accounts"'),
  },
  {
    kind: 'promote',
    author: 'carol',
    daysAgo: 24,
    name: 'support/escalation_classifier',
    ref: 'v2',
    label: 'production',
    reason: 'accounts team live',
  },
  {
    kind: 'push',
    author: 'alice',
    daysAgo: 14,
    message: 'release notes',
    content: releaseNotes('Be clear and brief.'),
  },
  {
    kind: 'promote',
    author: 'alice',
    daysAgo: 13,
    name: 'release_notes_writer',
    ref: 'v1',
    label: 'production',
    reason: 'first release',
  },
  {
    kind: 'push',
    author: 'alice',
    daysAgo: 6,
    message: 'friendlier tone',
    content: releaseNotes('Be warm, clear and brief. Thank the customers who asked for each change.'),
  },
  {
    kind: 'promote',
    author: 'alice',
    daysAgo: 5,
    name: 'release_notes_writer',
    ref: 'v2',
    label: 'staging',
    reason: 'review the tone',
  },
];
