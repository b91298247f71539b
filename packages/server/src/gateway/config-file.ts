import { readFile } from 'node:fs/promises';
import { PromptopsError, parseGatewayConfig } from '@promptops/core';
import type { GatewayOptions } from './plugin.js';

export const GATEWAY_CONFIG_ENV = 'PROMPTOPS_GATEWAY_CONFIG';

/** The gateway options from a config file (`--gateway-config`, else PROMPTOPS_GATEWAY_CONFIG); none without one. */
export const loadGatewayConfig = async (path: string | undefined): Promise<GatewayOptions> => {
  if (path === undefined || path === '') return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'invalid_gateway_config',
      `gateway config ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { fix: 'pass the path of a JSON or YAML file to --gateway-config (or PROMPTOPS_GATEWAY_CONFIG)' },
    );
  }
  return { config: parseGatewayConfig(text, path), source: path };
};
