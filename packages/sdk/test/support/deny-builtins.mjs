// Registers a loader hook that refuses every Node builtin module: a stand-in for runtimes that have
// fetch and ReadableStream but no node:fs (browsers, edge workers, Deno without the node: compat layer).
import { register } from 'node:module';

register('./deny-builtins-hooks.mjs', import.meta.url);
