import type { ObjectListEntry, ObjectListWriter } from '../object-list.ts';

type Slot = { entry: ObjectListEntry; settled: boolean; keep: boolean };

/**
 * Writes object-list entries in key order although their copies finish in any order: an entry waits until
 * its copy settles, then goes to the list, or is dropped if the source object vanished meanwhile (a list
 * must never name an object the backup does not hold). At most `window` entries wait; add() then blocks.
 */
export class OrderedListWriter {
  private readonly slots: Slot[] = [];
  private head = 0;
  private flushing: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly copying = new Set<Promise<unknown>>();
  private readonly spaceWaiters: (() => void)[] = [];
  private readonly writer: ObjectListWriter | undefined;
  private readonly window: number;

  constructor(writer: ObjectListWriter | undefined, window = 20_000) {
    this.writer = writer;
    this.window = window;
  }

  /** Adds an entry; `copying` settles with whether the entry stays (false: its source vanished). */
  async add(entry: ObjectListEntry, copying?: Promise<boolean>): Promise<void> {
    while (this.slots.length - this.head >= this.window && !this.failure) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    const slot: Slot = { entry, settled: !copying, keep: true };
    this.slots.push(slot);
    if (!copying) return this.flush();
    const settling = copying.then(
      (keep) => {
        slot.settled = true;
        slot.keep = keep;
        void this.flush();
      },
      () => undefined, // a failed copy fails the whole mirror; the list is aborted then
    );
    this.copying.add(settling);
    void settling.finally(() => this.copying.delete(settling));
  }

  /** Waits for every added entry's copy to settle, and for the entry to be written (or dropped). */
  async flushed(): Promise<void> {
    while (this.copying.size) await Promise.all(this.copying);
    await this.flush();
    if (this.failure) throw this.failure.error;
  }

  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.failure) return;
      try {
        await this.writeSettled();
      } catch (error) {
        this.failure = { error };
        for (const wake of this.spaceWaiters.splice(0)) wake();
      }
    });
    return this.flushing;
  }

  private async writeSettled(): Promise<void> {
    while (this.head < this.slots.length && this.slots[this.head]!.settled) {
      const slot = this.slots[this.head++]!;
      if (slot.keep) await this.writer?.add(slot.entry);
      this.spaceWaiters.shift()?.();
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
  }
}
