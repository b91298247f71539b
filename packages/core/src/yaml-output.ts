/**
 * Options every YAML that promptops writes shares. Double-quoted strings stay on one line: yaml 2.9 folds a
 * long one over several lines and then reads "\r\n \n…" back as "\r\n\\\n…" (found by the round-trip
 * property in prompt-file.test.ts). Block text is unaffected.
 */
export const YAML_OUTPUT = { lineWidth: 0, doubleQuotedMinMultiLineLength: Number.MAX_SAFE_INTEGER } as const;
