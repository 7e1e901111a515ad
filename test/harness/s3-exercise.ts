/** Small S3 round trips that the harness tests run against s3rver and RGW alike. */
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export const MiB = 1024 * 1024;

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** The ETag AWS gives a multipart object: md5 of the parts' binary md5s, dash, part count. */
export function multipartEtag(parts: Buffer[]): string {
  const digests = Buffer.concat(parts.map((part) => createHash('md5').update(part).digest()));
  return `${md5Hex(digests)}-${parts.length}`;
}

export function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}

export async function getBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

export async function putBytes(client: S3Client, bucket: string, key: string, body: Buffer): Promise<string> {
  const response = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return stripQuotes(response.ETag);
}

/** Every key under prefix, listed pageSize at a time (continuation tokens exercised). */
export async function listAllKeys(client: S3Client, bucket: string, prefix: string, pageSize: number) {
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: pageSize,
        ContinuationToken: token,
      }),
    );
    pages += 1;
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { keys, pages };
}

/** Uploads body with lib-storage (streamed parts of partSize); returns the ETag a HEAD reports. */
export async function uploadMultipart(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  partSize: number,
) {
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: body },
    partSize,
    queueSize: 2,
  });
  const done = await upload.done();
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { doneEtag: stripQuotes(done.ETag), headEtag: stripQuotes(head.ETag), size: head.ContentLength };
}

/**
 * A multipart object whose first part is copied server-side (UploadPartCopy) from source and whose
 * second part is uploaded; returns the part ETags and the object's HEAD ETag.
 */
export async function copyPartThenUpload(
  client: S3Client,
  bucket: string,
  source: string,
  key: string,
  tail: Buffer,
) {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const copied = await client.send(
    new UploadPartCopyCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      PartNumber: 1,
      CopySource: encodeURI(`${bucket}/${source}`),
    }),
  );
  const uploaded = await client.send(
    new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: tail }),
  );
  const parts = [
    { PartNumber: 1, ETag: copied.CopyPartResult!.ETag },
    { PartNumber: 2, ETag: uploaded.ETag },
  ];
  const completed = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    copyPartEtag: copied.CopyPartResult!.ETag ?? '',
    completeEtag: stripQuotes(completed.ETag),
    headEtag: stripQuotes(head.ETag),
  };
}

export function randomBody(size: number): Buffer {
  return randomBytes(size);
}
