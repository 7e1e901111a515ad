import { compareKeys } from './listing.ts';

export interface ConsistencyResult {
  referenced: number;
  missing: number;
  /** The first few missing keys, for the report. */
  sample: string[];
}

/** Merge-joins the keys the metadata references with what a bucket (or object list) holds, both sorted. */
export async function findMissingKeys(
  referenced: AsyncIterable<string>,
  present: AsyncIterable<{ key: string }>,
  sampleSize = 10,
): Promise<ConsistencyResult> {
  const have = present[Symbol.asyncIterator]();
  let current = await have.next();
  const result: ConsistencyResult = { referenced: 0, missing: 0, sample: [] };
  for await (const key of referenced) {
    result.referenced++;
    while (!current.done && compareKeys(current.value.key, key) < 0) current = await have.next();
    if (current.done || current.value.key !== key) {
      result.missing++;
      if (result.sample.length < sampleSize) result.sample.push(key);
    }
  }
  return result;
}
