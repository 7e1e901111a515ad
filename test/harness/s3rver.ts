/**
 * An in-process s3rver (starts in milliseconds) in a temp dir. Quirks (DESIGN.md): paginated listing
 * needs NODE_OPTIONS=--openssl-legacy-provider (its continuation tokens use DES), no UploadPartCopy,
 * a multipart object's ETag is the whole-object MD5, CopySource must be encodeURI(bucket/key).
 */
import { createCipheriv } from 'node:crypto';
import S3rver from 's3rver';
import { makeHarnessDir, removeHarnessDir } from './harness-dir.ts';
import { createBucket, type S3Target } from './s3-client.ts';

export interface S3rverServer extends S3Target {
  dir: string;
  createBucket(name: string): Promise<void>;
  /** Closes the server and deletes its directory. */
  stop(): Promise<void>;
}

/** Starts s3rver on a free 127.0.0.1 port; credentials S3RVER/S3RVER. */
export async function startS3rver(): Promise<S3rverServer> {
  assertLegacyProvider();
  const dir = await makeHarnessDir('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    vhostBuckets: false,
  });
  const { port } = await server.run();
  const target: S3Target = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  };
  return {
    ...target,
    dir,
    createBucket: (name) => createBucket(target, name),
    async stop() {
      if (server.httpServer.listening) {
        server.httpServer.closeAllConnections();
        await server.close();
      }
      await removeHarnessDir(dir);
    },
  };
}

function assertLegacyProvider(): void {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error(
      's3rver needs DES for its listing tokens: run Node with NODE_OPTIONS=--openssl-legacy-provider ' +
        '(`npm run jest` sets it)',
    );
  }
}
