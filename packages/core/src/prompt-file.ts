import { Document, Scalar, parseDocument, visit } from 'yaml';
import * as z from 'zod';
import { PromptopsError, formatIssues, type FieldIssue } from './errors.js';
import { validatePromptContent } from './prompt.js';
import {
  MESSAGE_ROLES,
  VARIABLE_TYPES,
  messageSchema,
  protoKeyIssues,
  zodIssues,
  type PromptContent,
  type VariableSpec,
} from './schema.js';
import { YAML_OUTPUT } from './yaml-output.js';

/**
 * The prompt file format (`prompts/**\/*.prompt.yaml`), part of the public contract. The file is a
 * friendlier spelling of the content: `model: { provider, name, ...params }` becomes
 * `config: { provider, model, params }`, and variable specs get their defaults filled in, so any YAML
 * layout of the same data yields the same content and the same sha.
 */

export const PROMPT_FILE_SUFFIXES = ['.prompt.yaml', '.prompt.yml'] as const;

const FILE_FIELDS = ['name', 'type', 'model', 'variables', 'template', 'messages', 'slots', 'evals'] as const;

// `user_name: string` is shorthand for `user_name: { type: string }`.
const fileVariableSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { type: value } : value),
  z.strictObject(
    {
      type: z.enum(VARIABLE_TYPES, { error: `type must be one of ${VARIABLE_TYPES.join(', ')}` }).optional(),
      required: z.boolean({ error: 'required must be true or false' }).optional(),
      default: z.json().optional(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.json()).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed fields: type, required, default, description, schema`
          : issue.code === 'invalid_type'
            ? `a variable is a type name (${VARIABLE_TYPES.join(', ')}) or a mapping like { type: string }`
            : undefined,
    },
  ),
);

const promptFileSchema = z.strictObject(
  {
    name: z.string().optional(),
    type: z.enum(['text', 'chat'], { error: 'type must be "text" or "chat"' }).optional(),
    model: z
      .object({
        provider: z.string({ error: 'model.provider must be a string' }).optional(),
        name: z.string({ error: 'model.name must be a string' }).optional(),
      })
      .catchall(z.json())
      .optional(),
    variables: z.record(z.string(), fileVariableSchema).optional(),
    template: z.string({ error: 'template must be a string' }).optional(),
    messages: z
      .array(
        z.strictObject(
          {
            role: z.enum(MESSAGE_ROLES, { error: `role must be one of ${MESSAGE_ROLES.join(', ')}` }),
            content: z.string({ error: 'content must be a string' }),
          },
          {
            error: (issue) =>
              issue.code === 'unrecognized_keys'
                ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; a message has role and content`
                : undefined,
          },
        ),
        { error: 'messages must be a list of { role, content }' },
      )
      .optional(),
    slots: z.record(z.string(), z.string({ error: 'a slot is a template string' })).optional(),
    // Inline eval suites (core/evals `parseInlineEvalSuites`); not part of the prompt's content or sha.
    evals: z.unknown().optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed fields: ${FILE_FIELDS.join(', ')}`
        : issue.code === 'invalid_type'
          ? 'a prompt file is a YAML mapping with fields like type, model, variables, template or messages'
          : undefined,
  },
);
type PromptFile = z.infer<typeof promptFileSchema>;

const fail = (file: string, issues: FieldIssue[], fix: string): never => {
  throw new PromptopsError('invalid', 'invalid_prompt_file', `${file}: invalid prompt file:\n${formatIssues(issues)}`, {
    issues,
    fix,
    details: { file },
  });
};

/** `support/greeter.prompt.yaml` -> `support/greeter` (the path is relative to the prompts folder). */
export const promptNameFromPath = (relativePath: string): string => {
  let name = relativePath.replaceAll('\\', '/').replace(/^\.\//, '');
  for (const suffix of PROMPT_FILE_SUFFIXES) {
    if (name.endsWith(suffix)) name = name.slice(0, -suffix.length);
  }
  return name;
};

const normalizeVariable = (spec: z.infer<typeof fileVariableSchema>): VariableSpec => {
  const full = spec;
  return {
    type: full.type ?? 'string',
    required: full.required ?? full.default === undefined,
    ...(full.default === undefined ? {} : { default: full.default }),
    ...(full.description === undefined ? {} : { description: full.description }),
    ...(full.schema === undefined ? {} : { schema: full.schema }),
  } as VariableSpec;
};

const toContent = (data: PromptFile, name: string, file: string): unknown => {
  const type = data.type ?? (data.messages !== undefined ? 'chat' : 'text');
  if (type === 'text' && data.messages !== undefined) {
    fail(
      file,
      [{ path: 'messages', message: 'a text prompt has template:, not messages:' }],
      'use type: chat, or replace messages with template',
    );
  }
  if (type === 'chat' && data.template !== undefined) {
    fail(
      file,
      [{ path: 'template', message: 'a chat prompt has messages:, not template:' }],
      'use type: text, or replace template with messages',
    );
  }
  if (type === 'text' && data.template === undefined) {
    fail(file, [{ path: 'template', message: 'a text prompt needs a template' }], 'add template: with the prompt text');
  }
  if (type === 'chat' && data.messages === undefined) {
    fail(
      file,
      [{ path: 'messages', message: 'a chat prompt needs messages' }],
      'add messages: with a list of { role, content }',
    );
  }
  const { provider, name: model, ...params } = data.model ?? {};
  const variables = Object.fromEntries(
    Object.entries(data.variables ?? {}).map(([key, spec]) => [key, normalizeVariable(spec)]),
  );
  return {
    name,
    type,
    config: {
      ...(provider === undefined ? {} : { provider }),
      ...(model === undefined ? {} : { model }),
      params,
    },
    variables,
    slots: data.slots ?? {},
    ...(type === 'text' ? { template: data.template } : { messages: data.messages }),
  };
};

/**
 * Parses a prompt file into validated content. Every error names the file, the field and the fix.
 * `defaultName` is used when the file has no `name:` (derived from the path by the caller).
 */
export const parsePromptFile = (text: string, options: { file: string; defaultName?: string }): PromptContent => {
  const { file } = options;
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(
      file,
      doc.errors.map((error) => ({ path: '(yaml)', message: error.message.split('\n')[0] ?? error.message })),
      'fix the YAML syntax at the line shown',
    );
  }
  const raw: unknown = doc.toJS();
  const protoIssues = protoKeyIssues(raw);
  if (protoIssues.length > 0) fail(file, protoIssues, 'rename the "__proto__" key');
  const parsed = promptFileSchema.safeParse(raw);
  if (!parsed.success) fail(file, zodIssues(parsed.error), 'correct the fields listed above');
  const data = (parsed as { data: PromptFile }).data;
  const name = data.name ?? options.defaultName;
  if (name === undefined) {
    return fail(
      file,
      [{ path: 'name', message: 'the prompt has no name' }],
      'add name:, or keep the file under prompts/ so the name comes from its path',
    );
  }
  try {
    return validatePromptContent(toContent(data, name, file), file);
  } catch (error) {
    if (error instanceof PromptopsError && error.issues !== undefined) {
      // Map content paths back to the file's spelling (config -> model).
      const issues = error.issues.map((issue) => ({
        path: issue.path.replace(/^config\.model\b/, 'model.name').replace(/^config\.(params\.)?/, 'model.'),
        message: issue.message,
      }));
      return fail(file, issues, error.fix ?? 'correct the fields listed above');
    }
    throw error;
  }
};

/**
 * Writes content back in the file format, in a fixed field order, so that a pull after a push
 * reproduces the same bytes. `name:` is written only when it differs from the path-derived name.
 */
export const formatPromptFile = (content: PromptContent, options: { pathName?: string } = {}): string => {
  const model: Record<string, unknown> = {
    ...(content.config.provider === undefined ? {} : { provider: content.config.provider }),
    ...(content.config.model === undefined ? {} : { name: content.config.model }),
    ...content.config.params,
  };
  const variables = Object.fromEntries(
    Object.entries(content.variables).map(([key, spec]) => {
      const implied = spec.required === (spec.default === undefined);
      return [
        key,
        {
          type: spec.type,
          ...(implied ? {} : { required: spec.required }),
          ...(spec.default === undefined ? {} : { default: spec.default }),
          ...(spec.description === undefined ? {} : { description: spec.description }),
          ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        },
      ];
    }),
  );
  const file = {
    ...(options.pathName === content.name ? {} : { name: content.name }),
    type: content.type,
    ...(Object.keys(model).length === 0 ? {} : { model }),
    ...(Object.keys(variables).length === 0 ? {} : { variables }),
    ...(content.type === 'text'
      ? { template: content.template }
      : { messages: content.messages.map((m) => messageSchema.parse(m)) }),
    ...(Object.keys(content.slots).length === 0 ? {} : { slots: content.slots }),
  };
  const yamlOptions = { ...YAML_OUTPUT, blockQuote: 'literal', flowCollectionPadding: true } as const;
  const doc = new Document(file);
  visit(doc, {
    Scalar: (_, node) => {
      // yaml writes a multi-line string with no visible character as a literal block that reads back
      // differently (" \n" becomes "\n"); double quotes keep it exact.
      if (typeof node.value === 'string' && node.value.includes('\n') && !/\S/.test(node.value)) {
        node.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  return doc.toString(yamlOptions);
};
