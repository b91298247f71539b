/**
 * Counts per id in fixed windows, in this process's memory. Bounded: at `maxEntries` ids, ended
 * windows are dropped, then the oldest (insertion order is window start order).
 */
export class FixedWindows {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly windowMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#windows.size;
  }

  /** The count in `id`'s current window: 0 when it ended or never started. */
  count(id: string, now: number): number {
    const window = this.#windows.get(id);
    return window !== undefined && now - window.start < this.windowMs ? window.count : 0;
  }

  /** Whole seconds (at least 1) until `id`'s current window ends. */
  secondsLeft(id: string, now: number): number {
    const start = this.#windows.get(id)?.start ?? now;
    return Math.max(1, Math.ceil((start + this.windowMs - now) / 1000));
  }

  /** Adds one to `id`'s current window (starting one when none runs) and returns the new count. */
  add(id: string, now: number): number {
    const window = this.#windows.get(id);
    if (window !== undefined && now - window.start < this.windowMs) return (window.count += 1);
    this.#windows.delete(id);
    if (this.#windows.size >= this.maxEntries) this.#prune(now);
    this.#windows.set(id, { start: now, count: 1 });
    return 1;
  }

  #prune(now: number): void {
    for (const [id, window] of this.#windows) {
      if (now - window.start >= this.windowMs) this.#windows.delete(id);
    }
    while (this.#windows.size >= this.maxEntries) this.#windows.delete(this.#windows.keys().next().value as string);
  }
}

/** A limit option must be a positive integer; anything else is a configuration mistake, named. */
export const positiveInteger = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
};
