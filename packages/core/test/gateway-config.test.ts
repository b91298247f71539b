import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../src/gateway-config.js';
import { isPromptopsError } from '../src/errors.js';

const refusal = (text: string): { code: string; message: string; paths: string[] } => {
  try {
    parseGatewayConfig(text, 'gw.yaml');
  } catch (error) {
    if (!isPromptopsError(error)) throw error;
    return { code: error.code, message: error.message, paths: (error.issues ?? []).map((issue) => issue.path) };
  }
  throw new Error('accepted');
};

describe('parseGatewayConfig', () => {
  it('reads YAML and JSON alike, trimming trailing slashes off base URLs', () => {
    const yaml = 'providers:\n  openai:\n    baseURL: https://api.openai.com/v1/\n    apiKeyEnv: OPENAI_API_KEY\n';
    const json = '{"providers": {"openai": {"baseURL": "https://api.openai.com/v1/", "apiKeyEnv": "OPENAI_API_KEY"}}}';
    const expected = { providers: { openai: { baseURL: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' } } };
    expect(parseGatewayConfig(yaml, 'gw.yaml')).toEqual(expected);
    expect(parseGatewayConfig(json, 'gw.json')).toEqual(expected);
    expect(
      parseGatewayConfig(
        'providers: { local: { baseURL: "http://127.0.0.1:8000/v1", timeoutMs: 5000 } }\nshadow: { concurrency: 2 }',
        'x',
      ),
    ).toEqual({
      providers: { local: { baseURL: 'http://127.0.0.1:8000/v1', timeoutMs: 5000 } },
      shadow: { concurrency: 2 },
    });
  });

  it('refuses what is not a gateway config, naming the file and the field', () => {
    expect(refusal('providers: [')).toMatchObject({
      code: 'invalid_gateway_config',
      message: /gw\.yaml: is neither JSON nor YAML/,
    });
    expect(refusal('{}').paths).toEqual(['providers']);
    expect(refusal('providers: { a: { baseURL: "ftp://x" } }').paths).toEqual(['providers.a.baseURL']);
    expect(refusal('providers: { a: { baseURL: "http://x", apiKey: "sk-123" } }')).toMatchObject({
      paths: ['providers.a.apiKey'],
      message: /unknown field "apiKey"; allowed fields: baseURL, apiKeyEnv, timeoutMs/,
    });
    expect(refusal('providers: { a: { baseURL: "http://x", apiKeyEnv: "sk-123" } }').paths).toEqual([
      'providers.a.apiKeyEnv',
    ]);
    expect(refusal('providers: {}\nshadow: { concurrency: 0 }').paths).toEqual(['shadow.concurrency']);
  });
});
