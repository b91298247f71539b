/**
 * A size-bounded map that evicts the oldest entry first. Reads do not reorder (an LRU's delete and
 * re-insert on every hit churns the map on the hot path); for the small working sets cached here
 * (keys, prompt ids, immutable versions) first-in-first-out eviction is as good.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();
  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value as K);
    }
    this.#entries.set(key, value);
  }
}
