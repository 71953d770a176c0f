// A local HTTP server on 127.0.0.1:<random> for one test, closed (connections too) when it ends.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function localHttpServer(
  t: { after(fn: () => Promise<void>): void },
  listener: RequestListener,
): Promise<{ url: string; port: number }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port };
}
