import { parseEvalSuiteFile, type EvalSuiteContent } from '@promptops/core';
import type { Clock } from '../context.js';
import { createDriftService, type DriftStores } from '../drift/service.js';
import type { EvalStores } from '../evals/service.js';
import type { ProjectRow } from '../registry/store.js';
import { demoBob, demoSuiteSteps } from './evals.js';

/**
 * The demo's drift evidence: suite `greeter-customers` (20 customers, each with a question) run by the
 * `simulated` provider on v17 and v18 of the greeter, so the offline drift report pairs 20 cases (the
 * taste test's 5 are below the report's minimum of 10) and finds that v18 stopped naming the customer:
 * 100 % → 0 %. Change request #2's drift check shows it; a stored report (bob's) fills the drift page.
 */

const GREETER = 'customer_support_greeter';
export const DEMO_DRIFT_SUITE = 'greeter-customers';

const CUSTOMERS: readonly [string, string][] = [
  ['Alice', 'How do I reset my password?'],
  ['Bob', 'Can I get a refund for my last order?'],
  ['Chen', 'Where is my parcel?'],
  ['Dana', 'I need a copy of my invoice.'],
  ['Emeka', 'How do I close my account?'],
  ['Farah', 'Can I change my delivery address?'],
  ['Gustavo', 'Why was my card declined?'],
  ['Hana', 'How do I add a second user to my plan?'],
  ['Ivan', 'The app crashes when I open settings.'],
  ['Jun', 'Do you ship to Canada?'],
  ['Kofi', 'How do I update my billing email?'],
  ['Lena', 'Can I pause my subscription?'],
  ['Mateo', 'I was charged twice this month.'],
  ['Nia', 'How do I export my data?'],
  ['Omar', 'Is there a student discount?'],
  ['Priya', 'My verification code never arrives.'],
  ['Quinn', 'How do I turn on two-factor authentication?'],
  ['Rosa', 'Can I return an opened item?'],
  ['Sven', 'Where can I download my receipts?'],
  ['Tala', 'How long does a refund take?'],
];

export const DEMO_DRIFT_SUITE_FILE = `# Twenty customers asking the greeter a question: enough paired cases for a drift report.
name: ${DEMO_DRIFT_SUITE}
prompt: ${GREETER}
provider: simulated
defaultTest:
  assert:
    - type: ends-with
      value: Is there anything else I can help with?
cases:
${CUSTOMERS.map(([name, question]) => `  - id: ${name.toLowerCase()}\n    vars: { user_name: ${name}, question: ${question} }`).join('\n')}
`;

export const demoDriftSuite = (): EvalSuiteContent =>
  parseEvalSuiteFile(DEMO_DRIFT_SUITE_FILE, { file: `evals/${DEMO_DRIFT_SUITE}.eval.yaml` });

/** The suite's push and its runs on v17 and v18, by bob, on the days the story ran them. */
export const demoDriftEvalSteps = (
  stores: EvalStores,
  project: ProjectRow,
  clock: Clock,
): { readonly daysAgo: number; readonly run: () => Promise<unknown> }[] => {
  const { push, runOn } = demoSuiteSteps(stores, project, clock, demoDriftSuite());
  return [
    {
      daysAgo: 5.4,
      run: () => push('twenty customers, one question each'),
    },
    // After the taste test's runs (#1 on v17, #2 on v18), so those keep their numbers.
    { daysAgo: 2.45, run: () => runOn(17) },
    { daysAgo: 2.4, run: () => runOn(18) },
  ];
};

/** Bob's stored report of v17 → v18 on the suite, after the complaints: the drift page's first entry. */
export const seedDemoDriftReport = async (stores: DriftStores, project: ProjectRow, clock: Clock): Promise<void> => {
  await createDriftService(stores, clock).create(demoBob(project), {
    prompt: GREETER,
    a: 'v17',
    b: 'v18',
    source: 'offline',
    suite: DEMO_DRIFT_SUITE,
  });
};
