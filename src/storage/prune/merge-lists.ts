import { PachopsError } from '../../errors.ts';
import { compareKeys } from '../listing.ts';
import type { ObjectListEntry } from '../object-list.ts';

/** One object list being merged: its name (for errors), its entries, and the entry at its head. */
interface Head {
  name: string;
  entries: AsyncIterator<ObjectListEntry>;
  entry: ObjectListEntry;
}

/**
 * The keys at the bucket's root that any of several object lists needs, each once, in key order: a
 * streaming k-way merge (a binary heap of the lists' heads), so memory holds one entry per list however
 * long the lists are. An entry whose content is stored elsewhere (`stored`, under `.pachops/versions/`)
 * needs that key, not the root key: it goes to `onStored` instead. Each list must be in strictly
 * increasing key order (the mirror writes them so); a list that is not stops the merge with an error,
 * because a merge-join on unsorted input would take needed keys for unneeded ones.
 */
export async function* mergeListedKeys(
  lists: { name: string; entries: AsyncIterable<ObjectListEntry> }[],
  onStored: (storedKey: string) => void,
): AsyncGenerator<string> {
  const heap: Head[] = [];
  for (const list of lists) {
    const entries = list.entries[Symbol.asyncIterator]();
    const first = await entries.next();
    if (!first.done) push(heap, { name: list.name, entries, entry: first.value });
  }
  let last: string | undefined;
  while (heap.length) {
    const head = heap[0]!;
    const { entry } = head;
    if (entry.stored) onStored(entry.stored);
    else if (last === undefined || compareKeys(last, entry.key) < 0) {
      last = entry.key;
      yield entry.key;
    }
    const next = await head.entries.next();
    if (next.done) {
      const tail = heap.pop()!;
      if (heap.length) {
        heap[0] = tail;
        siftDown(heap, 0);
      }
      continue;
    }
    if (compareKeys(entry.key, next.value.key) >= 0) throw unsorted(head.name, entry.key, next.value.key);
    head.entry = next.value;
    siftDown(heap, 0);
  }
}

function less(a: Head, b: Head): boolean {
  return compareKeys(a.entry.key, b.entry.key) < 0;
}

function push(heap: Head[], head: Head): void {
  heap.push(head);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function siftDown(heap: Head[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && less(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && less(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) return;
    [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
    i = smallest;
  }
}

function unsorted(list: string, previous: string, key: string): PachopsError {
  return new PachopsError(
    'PRUNE_LIST_UNSORTED',
    `object list ${list} names ${key} after ${previous}: it is not in key order, so prune cannot tell which objects are needed; nothing more was deleted`,
    { permanent: true },
  );
}
