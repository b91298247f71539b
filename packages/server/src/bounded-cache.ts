/**
 * A bounded map that evicts the oldest entry first. Reads do not reorder (an LRU's delete and
 * re-insert on every hit churns the map on the hot path); for the small working sets cached here
 * (keys, prompt ids, immutable versions) first-in-first-out eviction is as good.
 *
 * Bounded by entries and, for caches of content whose size users choose (a version may hold a megabyte
 * of templates), by total weight too: `set` takes the entry's weight (e.g. its length in characters), so
 * a few huge entries cannot hold gigabytes just because there are few of them.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number }>();
  #weight = 0;
  constructor(
    readonly capacity: number,
    readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {}

  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** The sum of the weights held now. */
  get weight(): number {
    return this.#weight;
  }

  get size(): number {
    return this.#entries.size;
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#weight -= entry.weight;
    this.#entries.delete(key);
  }

  set(key: K, value: V, weight = 1): void {
    // An entry heavier than the whole budget is not cached (it would evict everything and then itself).
    if (weight > this.maxWeight) return this.delete(key);
    this.delete(key);
    while (this.#entries.size >= this.capacity || this.#weight + weight > this.maxWeight) {
      this.delete(this.#entries.keys().next().value as K);
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
  }
}
