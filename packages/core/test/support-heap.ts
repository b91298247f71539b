import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The heap in use after two forced collections, for tests that check nothing is kept forever. The flag
 * is set at run time so the test runner needs no `--expose-gc`.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

export const MB = 1024 * 1024;
