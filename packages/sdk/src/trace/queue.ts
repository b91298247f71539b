/**
 * The exporter's FIFO: events (already serialized, with their UTF-8 size) and scores, in the order the
 * app recorded them, so a score is sent only after the event it scores. An array with a moving head
 * (shift() on a 10,000-item array copies it every time); compacted once half of it is consumed.
 */

export type QueueItem =
  | { readonly kind: 'event'; readonly id: string; readonly json: string; readonly bytes: number }
  | { readonly kind: 'score'; readonly eventId: string; readonly json: string };

export class ItemQueue {
  private items: QueueItem[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: QueueItem): void {
    this.items.push(item);
  }

  peek(): QueueItem | undefined {
    return this.items[this.head];
  }

  shift(): QueueItem | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes everything (close() after its flush timed out); returns how many there were. */
  clear(): number {
    const count = this.length;
    this.items = [];
    this.head = 0;
    return count;
  }
}
