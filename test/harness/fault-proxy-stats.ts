/** What the fault proxy counts: requests, faults, and the writes each client learnt it made. */
import type { FaultName } from './fault-proxy.ts';
import type { S3Operation } from './fault-proxy-request.ts';

export type WriteOperation = 'PutObject' | 'CopyObject' | 'UploadPartCopy' | 'CompleteMultipartUpload';

/** What a write changed: an object, or for UploadPartCopy one part of one upload. */
export interface WriteTarget {
  operation: WriteOperation;
  bucket: string;
  key: string;
  uploadId?: string;
  partNumber?: number;
}

/**
 * An upstream 2xx answer to a write; `delivered` once the whole response went to the client's
 * connection. (Real S3 may answer a copy or a completion 200 with an error body; RGW and s3rver do not.)
 */
export interface WriteRecord extends WriteTarget {
  status: number;
  delivered: boolean;
}

export interface FaultProxyStats {
  /** Requests received, and sent upstream. */
  seen: number;
  forwarded: number;
  /** Client connections accepted (fewer than requests when keep-alive works). */
  connections: number;
  /** Requests being handled now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
  /** Faults carried out, by name. */
  faults: Record<FaultName, number>;
  /** Upstream failures: requests answered 502, and responses cut short because the upstream failed mid-body. */
  upstreamErrors: number;
  /** Clients gone before their whole response was sent (the proxy's own resets not counted). */
  clientAborts: number;
  /** Requests received, by operation. */
  operations: Partial<Record<S3Operation, number>>;
  writes: WriteRecord[];
  /** Delivered 2xx writes to bucket/key: of operation, or else object-level ones (all but UploadPartCopy). */
  deliveredWrites(bucket: string, key: string, operation?: WriteOperation): number;
  /** Targets the client learnt more than once that it wrote, "copied twice as far as the client knows". */
  keysWrittenMoreThanOnce(): (WriteTarget & { count: number })[];
}

/** Empty counters, and the queries over the writes recorded. */
export function makeStats(): FaultProxyStats {
  const writes: WriteRecord[] = [];
  const faults = {
    notImplemented: 0,
    tooMany: 0,
    slowDown: 0,
    errorIn200: 0,
    resetBeforeForward: 0,
    delay: 0,
  };
  return {
    ...{ seen: 0, forwarded: 0, connections: 0, inFlight: 0, maxInFlight: 0, upstreamErrors: 0 },
    ...{ clientAborts: 0, faults: { ...faults, resetAfterUpstream: 0 }, operations: {}, writes },
    deliveredWrites: (bucket, key, operation) =>
      writes.filter(
        (write) =>
          write.delivered &&
          write.bucket === bucket &&
          write.key === key &&
          (operation ? write.operation === operation : write.operation !== 'UploadPartCopy'),
      ).length,
    keysWrittenMoreThanOnce: () => {
      const counts = new Map<string, WriteTarget & { count: number }>();
      for (const { operation, bucket, key, uploadId, partNumber, delivered } of writes) {
        const id = JSON.stringify([operation, bucket, key, uploadId, partNumber]);
        const entry = counts.get(id) ?? { operation, bucket, key, uploadId, partNumber, count: 0 };
        if (delivered) counts.set(id, { ...entry, count: entry.count + 1 });
      }
      return [...counts.values()].filter((entry) => entry.count > 1);
    },
  };
}
