import { createHash } from 'node:crypto';
import { useSha256 } from '@promptops/core';
import { nodeIo } from './io.js';
import { runCli } from './program.js';

/**
 * The CLI as a process: argv in, exit code out. `bin.ts` runs it, from the bundle when the build made one.
 * No top-level await: the bundle is a CommonJS script.
 */

useSha256((text) => createHash('sha256').update(text).digest('hex'));

// `promptops log … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// exitCode rather than process.exit(): pending stdout writes to a pipe are flushed before Node exits.
void runCli(process.argv.slice(2), nodeIo()).then((code) => {
  process.exitCode = code;
});
