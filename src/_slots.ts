/**
 * A set of in-flight objects that is cheap for the garbage collector.
 *
 * A `Set` with steady churn (an entry added and deleted per request)
 * rehashes into a new table every few dozen requests. V8 leaves the
 * entries of the replaced table in place, and once that table has been
 * promoted to the old generation it keeps every request it pointed to,
 * and everything those requests point to, alive through young-generation
 * collections until the next full collection: measured on Node at
 * concurrency 10, a session promoted 4x the memory of a raw undici client
 * and spent twice as long in garbage collection. Here each member keeps
 * its own index into one array, and a removed member's slot is
 * overwritten at once, so no dead structure points at a finished request.
 *
 * @module
 */

/** A member of a {@linkcode SlotSet}: `-1` while outside it. */
export interface Slotted {
  slot: number;
}

/** Members in no particular order; `add` and `delete` are O(1). */
export class SlotSet<T extends Slotted> {
  #items: T[] = [];

  /** How many members there are. */
  get size(): number {
    return this.#items.length;
  }

  /** Add `item` unless it is a member already. */
  add(item: T): void {
    if (item.slot !== -1) return;
    item.slot = this.#items.length;
    this.#items.push(item);
  }

  /** Remove `item` if it is a member. */
  delete(item: T): void {
    const index = item.slot;
    if (index === -1) return;
    item.slot = -1;
    const items = this.#items;
    const last = items.pop()!;
    if (last !== item) {
      items[index] = last;
      last.slot = index;
    }
  }

  /** The members now, as a new array (safe to change the set while using it). */
  snapshot(): T[] {
    return this.#items.slice();
  }
}
