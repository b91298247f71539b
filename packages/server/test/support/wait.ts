import { vi } from 'vitest';

/**
 * Waits for a condition, never for a duration: polls `check` until it returns true (or stops throwing).
 * The deadline only turns a hang into a readable failure, so it is generous: a busy 2-core CI box is
 * slow, not wrong. The one waiting helper for every package's tests.
 */
export const waitFor = async (check: () => boolean | void, what: string, timeoutMs = 20_000): Promise<void> => {
  try {
    await vi.waitFor(
      () => {
        if (check() === false) throw new Error(`still waiting for ${what}`);
      },
      { timeout: timeoutMs, interval: 5 },
    );
  } catch (error) {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: error });
  }
};
