import {
  PROMPT_NAME_PATTERN,
  PromptopsError,
  formatIssues,
  parseEvalSuiteContent,
  type EvalSuiteContent,
} from '@promptops/core';

/** Suite names read like prompt names: lowercase words, `/` between folders (e.g. `greeter-basics`). */
export const SUITE_NAME_PATTERN = PROMPT_NAME_PATTERN;
export const MAX_SUITE_CASES = 10_000;

/**
 * Parses untrusted suite content pushed to the registry (already normalized by the client: datasets
 * expanded, defaults filled) with core's suite rules, the same the CLI applies to files; a bad field is
 * a 400 naming each field path under `field` (`content`, or `suite.content` in a run).
 */
export const validateSuiteContent = (input: unknown, field = 'content'): EvalSuiteContent => {
  let content: EvalSuiteContent;
  try {
    content = parseEvalSuiteContent(input, 'suite content');
  } catch (error) {
    if (!(error instanceof PromptopsError) || error.issues === undefined) throw error;
    const issues = error.issues.map((issue) => ({
      path: issue.path === '' ? field : `${field}.${issue.path}`,
      message: issue.message,
    }));
    const name =
      typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
        ? ` '${(input as { name: string }).name}'`
        : '';
    throw new PromptopsError('invalid', 'invalid_suite', `eval suite${name} is invalid:\n${formatIssues(issues)}`, {
      issues,
      fix: error.fix ?? 'correct the fields listed in issues',
    });
  }
  if (content.cases.length > MAX_SUITE_CASES) {
    throw new PromptopsError('too_large', 'suite_too_large', `a suite has at most ${MAX_SUITE_CASES} cases`, {
      fix: 'split the suite in several',
    });
  }
  return content;
};
