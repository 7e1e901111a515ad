import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Target } from '../config/load.ts';
import { PachopsError } from '../errors.ts';
import { Pressure, ReportingRetryStrategy } from './pressure.ts';

const QUIET_LOGGER = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A bucket and the client that reaches it. */
export interface Bucket {
  client: S3Client;
  name: string;
  target: S3Target;
  /** Every retry the SDK makes on this client (503 SlowDown, 429, resets): the copier listens. */
  pressure: Pressure;
  /**
   * Spread into every request that writes an object (PutObject, Upload's params, CopyObject,
   * CreateMultipartUpload): the location's server-side encryption, so no writer can leave it out.
   */
  writeParams: WriteParams;
}

/** The server-side encryption headers of a write; empty when the location sets none. */
export interface WriteParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

/** The write headers of a location: its `sse` and `kmsKeyId`, or nothing. */
export function writeParamsOf(target: S3Target): WriteParams {
  if (!target.sse) return {};
  return {
    ServerSideEncryption: target.sse,
    ...(target.sse === 'aws:kms' && target.kmsKeyId ? { SSEKMSKeyId: target.kmsKeyId } : {}),
  };
}

/** Attempts per request, the first included, before the SDK gives the error back. */
const MAX_ATTEMPTS = 6;

/** A connection not made in this long fails (and is retried like a reset). */
const CONNECTION_TIMEOUT_MS = 30_000;
/**
 * By default a request whose socket stays silent this long fails (and is retried): a server that accepts
 * a request and never answers would otherwise hold a copy slot, or a paused cluster's mirror, until
 * someone clicks Abort. rclone's default too. A location's `idleTimeoutSeconds` changes it: a streamed
 * copy's download stands still while its parts upload, so a slow link needs more.
 */
export const SOCKET_IDLE_TIMEOUT_MS = 300_000;

const idleTimeoutMs = (target: S3Target) =>
  target.idleTimeoutSeconds === undefined ? SOCKET_IDLE_TIMEOUT_MS : target.idleTimeoutSeconds * 1000;

/**
 * One S3 client per location. Checksums only where S3 requires them: RGW and s3rver mishandle the SDK's
 * default streaming checksums (DESIGN.md). Retries are the SDK's standard strategy (backs off on 503/429),
 * reported to the bucket's `pressure`. Connections and silent sockets time out (CONNECTION_TIMEOUT_MS,
 * the location's idleTimeoutSeconds) and are retried the same way.
 */
export function openBucket(target: S3Target, options: { maxSockets?: number } = {}): Bucket {
  const pressure = new Pressure();
  const client = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    credentials: target.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryStrategy: new ReportingRetryStrategy(pressure, MAX_ATTEMPTS),
    // Failures are rethrown with what was being done (s3Error); the SDK's own console warnings are noise.
    logger: QUIET_LOGGER,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: idleTimeoutMs(target),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 }),
    },
  });
  return { client, name: target.bucket, target, pressure, writeParams: writeParamsOf(target) };
}

/** Server-side copy works when one set of credentials reaches both buckets on one endpoint. */
export function canCopyServerSide(a: S3Target, b: S3Target): boolean {
  return (
    (a.endpoint ?? '') === (b.endpoint ?? '') &&
    a.region === b.region &&
    a.credentials?.accessKeyId === b.credentials?.accessKeyId &&
    a.credentials?.secretAccessKey === b.credentials?.secretAccessKey
  );
}

/** Wraps an S3 failure with what was being done; access and missing-bucket errors are permanent. */
export function s3Error(error: unknown, what: string): PachopsError {
  if (error instanceof PachopsError) return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  const message = (error as Error).message || name;
  const permanent =
    ['AccessDenied', 'NoSuchBucket', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(name) ||
    status === 403;
  return new PachopsError(
    'S3_FAILED',
    `S3: ${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}`,
    {
      permanent,
      hint: permanent ? 'check the bucket name and the credentials the config names' : undefined,
      cause: error,
    },
  );
}

export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  const status = (error as S3ServiceException).$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

/** An object's HEAD; undefined when the key is not there. */
export async function headObject(bucket: Bucket, key: string): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw s3Error(error, `head ${key} in ${bucket.name}`);
  }
}
