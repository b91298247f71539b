/**
 * How an output opens and ends, as a small set of classes rather than the words themselves, so a
 * synonym ("Hi" for "Hello") is no change while a new habit (apologizing first, ending with a question)
 * is. The lists are short English phrase lists, checked at the start or end of the trimmed output.
 */

export const OPENING_CLASSES = [
  'greeting',
  'thanks',
  'apology',
  'affirmation',
  'refusal',
  'question',
  'json',
  'code',
  'heading',
  'empty',
  'other',
] as const;
export type OpeningClass = (typeof OPENING_CLASSES)[number];

export const ENDING_CLASSES = ['question', 'offer', 'thanks', 'sign-off', 'json', 'code', 'empty', 'other'] as const;
export type EndingClass = (typeof ENDING_CLASSES)[number];

/** Refusal-like phrases anywhere in the output (also the `refusal` descriptor). */
export const REFUSAL_PATTERN =
  /\b(?:i(?:\s+(?:can(?:no|'|’)?t|cannot|won(?:'|’)t|will\s+not|must\s+decline|am\s+(?:not\s+able|unable))|(?:'|’)m\s+(?:not\s+able|unable))\s+(?:to\s+)?(?:help|assist|provide|do|comply|share|answer|access|give|support|fulfil|fulfill|process|discuss)|as\s+an\s+ai(?:\s+language\s+model)?\b|i(?:'|’)m\s+sorry,?\s+but\s+i\b)/i;

const GREETING = /^(?:hi|hello|hey|greetings|good\s+(?:morning|afternoon|evening|day)|dear|welcome|howdy|hiya)\b/i;
const THANKS_START = /^(?:thanks|thank\s+you|many\s+thanks)\b/i;
const APOLOGY =
  /^(?:sorry|apologies|unfortunately|i\s+apologi[sz]e|i(?:'|’)m\s+(?:so\s+|very\s+)?sorry|i\s+am\s+sorry)\b/i;
const AFFIRMATION =
  /^(?:sure|certainly|of\s+course|absolutely|yes|okay|ok|great|no\s+problem|happy\s+to|glad\s+to|got\s+it|definitely)\b/i;

const OFFER =
  /(?:let\s+me\s+know|anything\s+else|happy\s+to\s+help|glad\s+to\s+help|feel\s+free|reach\s+out|hope\s+(?:this|that|it)\s+helps|don(?:'|’)t\s+hesitate|here\s+to\s+help)/i;
const THANKS_END = /(?:thank\s+you|thanks)\b[^.!?]*[.!]?$/i;
const SIGN_OFF =
  /(?:best\s+regards|kind\s+regards|regards|cheers|sincerely|best\s+wishes|take\s+care|have\s+a\s+(?:great|nice|good|lovely|wonderful)\s+(?:day|one|evening|week))\b/i;

/** The first sentence (up to . ! ? or a line break). */
const firstSentence = (text: string): string => /^[^\n.!?]*[.!?]?/.exec(text)?.[0] ?? text;

/** The last sentence or, when the output ends in a short sign-off line, the last two lines. */
const lastPart = (text: string): string => {
  const lines = text.split(/\n+/);
  const last = lines.at(-1) ?? '';
  const tail = last.split(/\s+/).length <= 3 && lines.length > 1 ? `${lines.at(-2)!} ${last}` : last;
  return /[^.!?]*[.!?]*$/.exec(tail.replace(/[.!?]+$/, ''))?.[0] ?? tail;
};

export const openingPhrase = (output: string): OpeningClass => {
  const text = output.trim();
  if (text === '') return 'empty';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  if (text.startsWith('```')) return 'code';
  if (/^#{1,6}\s/.test(text)) return 'heading';
  const first = firstSentence(text);
  if (GREETING.test(first)) return 'greeting';
  if (THANKS_START.test(first)) return 'thanks';
  if (REFUSAL_PATTERN.test(first) && /^i\b|^as\s+an\b/i.test(first)) return 'refusal';
  if (APOLOGY.test(first)) return 'apology';
  if (AFFIRMATION.test(first)) return 'affirmation';
  if (first.endsWith('?')) return 'question';
  return 'other';
};

export const endingPhrase = (output: string): EndingClass => {
  const text = output.trim();
  if (text === '') return 'empty';
  if (text.endsWith('}') || text.endsWith(']')) return 'json';
  if (text.endsWith('```')) return 'code';
  if (text.endsWith('?')) return 'question';
  const last = lastPart(text);
  const tail = text.slice(-200);
  if (SIGN_OFF.test(last) || /(?:regards|cheers|sincerely),?\s*\n[^\n]{0,60}$/i.test(tail)) return 'sign-off';
  if (OFFER.test(last)) return 'offer';
  if (THANKS_END.test(last)) return 'thanks';
  return 'other';
};
