export { runCli, createProgram, type ProgramOptions } from './program.js';
export { nodeIo, type CliIo, type Writer } from './io.js';
export { resolveConfig, readCredentials, DEFAULT_URL, type ResolvedConfig, type GlobalFlags } from './config.js';
export { ApiClient, ApiError, type ApiClientOptions } from './api-client.js';
export { discoverPromptFiles, loadPromptFiles } from './files.js';
export { EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './errors.js';
