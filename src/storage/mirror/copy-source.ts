/**
 * The x-amz-copy-source value: bucket and key, each path segment percent-encoded (`?`, `#`, `+`, `%` and
 * non-ASCII included), which RGW, s3rver and AWS all decode back to the key.
 */
export function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
