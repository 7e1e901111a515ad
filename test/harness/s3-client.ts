/** S3 clients for tests (src/ has its own): checksums only when required, which s3rver and RGW need. */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** Where an S3-compatible server is and how to sign for it. */
export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: true;
}

/** An S3Client for target (path-style, static credentials, no default checksums). */
export function makeS3Client(target: S3Target): S3Client {
  return new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    // s3rver stores streamed bodies with their chunk framing and RGW answers 411 otherwise
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
}

/** Creates bucket name on target. */
export async function createBucket(target: S3Target, name: string): Promise<void> {
  const client = makeS3Client(target);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}

/** The plain-data part of a target (for JSON files and spreading servers). */
export function pickS3Target(target: S3Target): S3Target {
  const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = target;
  return { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle };
}
