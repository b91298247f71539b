// Registers a loader hook that appends every module URL the process resolves to the file named by
// PROMPTOPS_IMPORT_LOG: the module graph of an import, for tests that assert what it does not load.
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url, { data: { log: process.env['PROMPTOPS_IMPORT_LOG'] } });
