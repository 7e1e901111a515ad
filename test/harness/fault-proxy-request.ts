/** How the fault proxy tells one S3 request from another: its operation, bucket and (decoded) key. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** What a request does, told from its method, path, query and x-amz-copy-source header. */
export type S3Operation =
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'ListBuckets'
  | 'Other';

/** A request as fault rules see it. */
export interface S3Request {
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Path-style bucket and key, percent-decoded ('' when absent). */
  bucket: string;
  key: string;
  operation: S3Operation;
}

/** When a fault applies; decided for each request when it arrives. */

// S3 sub-resources that make an object or bucket request some other operation
const SUBRESOURCES = ['acl', 'tagging', 'policy', 'location', 'versioning', 'versions', 'lifecycle', 'cors'];

export function describeRequest(req: IncomingMessage): S3Request {
  const { pathname: path, searchParams: query } = new URL(req.url ?? '/', 'http://proxy');
  const [bucket = '', ...rest] = path.slice(1).split('/').map(decodePathPart);
  const key = rest.join('/');
  const method = req.method ?? 'GET';
  const operation = classify(method, bucket, key, query, req.headers['x-amz-copy-source'] !== undefined);
  return { method, path, query, headers: req.headers, bucket, key, operation };
}

function decodePathPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function classify(
  method: string,
  bucket: string,
  key: string,
  query: URLSearchParams,
  copy: boolean,
): S3Operation {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Other';
  if (SUBRESOURCES.some((name) => query.has(name))) return 'Other';
  const upload = query.has('uploadId');
  const putObject = copy ? 'CopyObject' : 'PutObject';
  const putPart = copy ? 'UploadPartCopy' : 'UploadPart';
  const list = query.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
  const byMethod: Record<string, S3Operation | false> = key
    ? {
        PUT: query.has('partNumber') ? putPart : putObject,
        POST: query.has('uploads') ? 'CreateMultipartUpload' : upload && 'CompleteMultipartUpload',
        GET: upload ? 'ListParts' : 'GetObject',
        HEAD: 'HeadObject',
        DELETE: upload ? 'AbortMultipartUpload' : 'DeleteObject',
      }
    : {
        PUT: 'CreateBucket',
        POST: query.has('delete') && 'DeleteObjects',
        GET: query.get('list-type') === '2' ? 'ListObjectsV2' : list,
        HEAD: 'HeadBucket',
        DELETE: 'DeleteBucket',
      };
  return byMethod[method] || 'Other';
}
