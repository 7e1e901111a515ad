import { createServer } from 'node:net';

/** A TCP port that is free on 127.0.0.1 right now (the OS picks it; someone may still race us to it). */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address from the OS');
  return address.port;
}
