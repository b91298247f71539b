#!/usr/bin/env node
import { nodeIo } from './io.js';
import { runCli } from './program.js';

// `promptops log … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// exitCode rather than process.exit(): pending stdout writes to a pipe are flushed before Node exits.
process.exitCode = await runCli(process.argv.slice(2), nodeIo());
