import { parseDocument, stringify } from 'yaml';
import { PromptopsError, formatIssues, type FieldIssue } from './errors.js';
import { TENANT_PATTERN, parseOverride, type PromptOverride } from './overrides.js';
import { YAML_OUTPUT } from './yaml-output.js';

/**
 * Prompts as code for tenant overrides: `prompts/overrides/<tenant>/<name>.override.yaml`, the tenant and
 * the prompt named by the path (as a prompt file's name is). The file holds the override (`slots`,
 * `variables`, `params`: checked by `parseOverride`, as the registry checks one), the `label` it serves
 * (default production), an optional pinned `base` (a ref: `v3` or a sha prefix) and the `message` a push
 * records.
 */

export const OVERRIDE_FILE_SUFFIXES = ['.override.yaml', '.override.yml'] as const;
/** The folder, inside a prompts folder, that holds one folder per tenant. */
export const OVERRIDES_DIR = 'overrides';
const DEFAULT_LABEL = 'production';

const FIELDS = ['slots', 'variables', 'params', 'label', 'base', 'message'] as const;

export interface OverrideFile {
  readonly tenant: string;
  /** The prompt's name. */
  readonly name: string;
  /** Normalized (empty sections dropped), so its sha is the registry's. */
  readonly override: PromptOverride;
  readonly label: string;
  /** A pinned base version as written (`v3`, a sha or prefix), or null: it follows the label. */
  readonly base: string | null;
  readonly message: string | null;
}

export const isOverrideFile = (path: string): boolean => OVERRIDE_FILE_SUFFIXES.some((s) => path.endsWith(s));

const fail = (file: string, issues: FieldIssue[], fix: string): never => {
  throw new PromptopsError('invalid', 'invalid_override', `${file}: invalid override file:\n${formatIssues(issues)}`, {
    issues,
    fix,
    details: { file },
  });
};

/**
 * `acme/support/greeter.override.yaml` (relative to an overrides folder) -> tenant `acme`, prompt
 * `support/greeter`. A folder that is no tenant id is refused naming the file.
 */
export const overrideTargetFromPath = (relativePath: string, file = relativePath): { tenant: string; name: string } => {
  const parts = relativePath.replaceAll('\\', '/').replace(/^\.\//, '').split('/');
  const tenant = parts[0] ?? '';
  if (parts.length < 2) {
    return fail(
      file,
      [
        {
          path: 'tenant',
          message: 'an override file sits in its tenant folder: overrides/<tenant>/<name>.override.yaml',
        },
      ],
      'move the file into the folder of the tenant it overrides for, e.g. prompts/overrides/acme/',
    );
  }
  if (!TENANT_PATTERN.test(tenant)) {
    return fail(
      file,
      [{ path: 'tenant', message: `folder "${tenant.slice(0, 130)}" is not a tenant id` }],
      'name the folder after the tenant: letters, digits, "_", "." and "-" (at most 128), starting with a letter or digit',
    );
  }
  const rest = parts.slice(1).join('/');
  const suffix = OVERRIDE_FILE_SUFFIXES.find((s) => rest.endsWith(s));
  return { tenant, name: suffix === undefined ? rest : rest.slice(0, -suffix.length) };
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses an override file; every error names the file and the field. */
export const parseOverrideFile = (
  text: string,
  target: { file: string; tenant: string; name: string },
): OverrideFile => {
  const { file } = target;
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(
      file,
      doc.errors.map((error) => ({ path: '(yaml)', message: error.message.split('\n')[0] ?? error.message })),
      'fix the YAML syntax at the line shown',
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isRecord(raw)) {
    return fail(
      file,
      [{ path: '(root)', message: `an override file is a mapping of ${FIELDS.join(', ')}` }],
      'write the override as a YAML mapping',
    );
  }
  const issues: FieldIssue[] = Object.keys(raw)
    .filter((key) => !(FIELDS as readonly string[]).includes(key))
    .map((key) => ({ path: key, message: `unknown field "${key}"; an override file has ${FIELDS.join(', ')}` }));
  const { label, base, message } = raw;
  if (label !== undefined && (typeof label !== 'string' || label === '')) {
    issues.push({ path: 'label', message: 'label must name the label the override serves, e.g. production' });
  }
  if (base !== undefined && base !== null && typeof base !== 'string') {
    issues.push({ path: 'base', message: 'base must be a version ref, e.g. v3 or a sha prefix' });
  }
  if (message !== undefined && message !== null && typeof message !== 'string') {
    issues.push({ path: 'message', message: 'message must be text' });
  }
  if (issues.length > 0) fail(file, issues, `an override file has only ${FIELDS.join(', ')}`);
  let override: PromptOverride;
  try {
    const { slots, variables, params } = raw;
    override = parseOverride(
      {
        ...(slots === undefined || slots === null ? {} : { slots }),
        ...(variables === undefined || variables === null ? {} : { variables }),
        ...(params === undefined || params === null ? {} : { params }),
      },
      file,
    );
  } catch (error) {
    if (!(error instanceof PromptopsError)) throw error;
    return fail(
      file,
      error.issues === undefined ? [{ path: '(root)', message: error.message }] : [...error.issues],
      error.fix ?? 'correct the fields listed above',
    );
  }
  return {
    tenant: target.tenant,
    name: target.name,
    override,
    label: (label as string | undefined) ?? DEFAULT_LABEL,
    base: (base as string | null | undefined) ?? null,
    message: (message as string | null | undefined) ?? null,
  };
};

/** The file text: the override's sections, then label, base and message (label only when not production). */
export const formatOverrideFile = (file: Omit<OverrideFile, 'tenant' | 'name'>): string => {
  const data: Record<string, unknown> = { ...file.override };
  if (file.label !== DEFAULT_LABEL) data['label'] = file.label;
  if (file.base !== null) data['base'] = file.base;
  if (file.message !== null && file.message !== '') data['message'] = file.message;
  return stringify(data, { ...YAML_OUTPUT, blockQuote: 'literal' });
};
