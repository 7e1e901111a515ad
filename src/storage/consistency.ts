import { compareKeys } from './listing.ts';

export interface ConsistencyResult {
  referenced: number;
  missing: number;
  /** The first few missing keys, for the report. */
  sample: string[];
}

/**
 * Merge-joins the keys the metadata references with what a bucket (or object list) holds, both sorted.
 * The metadata is read first: its snapshot then predates the listing, so an object a live cluster
 * uploads meanwhile is never reported missing (Pachyderm marks a chunk uploaded only after its object
 * exists).
 */
export async function findMissingKeys(
  referenced: AsyncIterable<string>,
  present: AsyncIterable<{ key: string }>,
  sampleSize = 10,
): Promise<ConsistencyResult> {
  const refs = referenced[Symbol.asyncIterator]();
  let key = await refs.next();
  const have = present[Symbol.asyncIterator]();
  let current = await have.next();
  const result: ConsistencyResult = { referenced: 0, missing: 0, sample: [] };
  for (; !key.done; key = await refs.next()) {
    result.referenced++;
    while (!current.done && compareKeys(current.value.key, key.value) < 0) current = await have.next();
    if (current.done || current.value.key !== key.value) {
      result.missing++;
      if (result.sample.length < sampleSize) result.sample.push(key.value);
    }
  }
  return result;
}
