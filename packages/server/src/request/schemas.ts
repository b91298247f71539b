/** JSON schemas shared by routes (request validation and the OpenAPI document). */
export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200, description: 'prompt name, URL-encoded' } },
} as const;

export const nameRefParams = {
  type: 'object',
  required: ['name', 'ref'],
  properties: { ...nameParams.properties, ref: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const nameLabelParams = {
  type: 'object',
  required: ['name', 'label'],
  properties: { ...nameParams.properties, label: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

export const sha = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fix: { type: 'string' },
        issues: {
          type: 'array',
          items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;
