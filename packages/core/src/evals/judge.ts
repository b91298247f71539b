import { contentSha } from '../canonical.js';
import type { ChatPromptContent } from '../schema.js';
import { clipWords, flatten } from './excerpt.js';

/**
 * The `llm-rubric` judge. Its prompt is itself a versioned prompt content (with a sha, like any
 * version), so a run can say which judge graded it; the call is the runner's, the verdict parsing is here.
 */

export const JUDGE_PROMPT: ChatPromptContent = {
  name: 'promptops/llm-rubric-judge',
  type: 'chat',
  config: { params: { temperature: 0 } },
  variables: {
    rubric: { type: 'string', required: true },
    output: { type: 'string', required: true },
  },
  slots: {},
  messages: [
    {
      role: 'system',
      content: [
        'You grade the output of another model against a rubric.',
        'Read the rubric and the output. Decide whether the output satisfies the rubric.',
        'Reply with one JSON object and nothing else:',
        '{"pass": true or false, "score": a number from 0 to 1, "reason": "one sentence saying why"}',
      ].join('\n'),
    },
    {
      role: 'user',
      content: '<rubric>\n{{rubric}}\n</rubric>\n\n<output>\n{{output}}\n</output>',
    },
  ],
};

/** The judge prompt's sha (version 1 of the judge). */
export const JUDGE_PROMPT_SHA = contentSha(JUDGE_PROMPT);

export interface JudgeVerdict {
  readonly pass: boolean;
  readonly score: number;
  readonly reason: string;
}

const firstJsonObject = (text: string): unknown => {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  const candidates = [text.trim(), fenced?.[1]?.trim() ?? ''];
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start !== -1 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    if (candidate === '') continue;
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
};

/**
 * Reads the judge's reply: a JSON object `{pass, score, reason}` (also inside a code fence or prose).
 * A missing `score` follows `pass`; a missing `pass` is `score >= 0.5`. Anything else is a failed verdict
 * whose reason quotes what came, never a thrown error: a confused judge fails the case, not the run.
 */
export const parseJudgeVerdict = (text: string): JudgeVerdict => {
  const parsed = firstJsonObject(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { pass: false, score: 0, reason: `the judge did not answer with a JSON verdict; it said: ${clip(text)}` };
  }
  const record = parsed as Record<string, unknown>;
  const rawScore = typeof record.score === 'number' && Number.isFinite(record.score) ? record.score : undefined;
  const score = rawScore === undefined ? undefined : Math.min(1, Math.max(0, rawScore));
  const pass = typeof record.pass === 'boolean' ? record.pass : score === undefined ? undefined : score >= 0.5;
  if (pass === undefined) {
    return { pass: false, score: 0, reason: `the judge's verdict has neither pass nor score: ${clip(text)}` };
  }
  const reason = typeof record.reason === 'string' && record.reason !== '' ? record.reason : '(no reason given)';
  return { pass, score: score ?? (pass ? 1 : 0), reason };
};

export const clip = (text: string, max = 120): string => JSON.stringify(clipWords(flatten(text), max));
