// A release server for tests on 127.0.0.1: serves fixture files at upstream-shaped paths (and
// redirects, as GitHub does), and counts requests so tests can prove what was (not) downloaded.
import { createServer, type Server } from 'node:http';

export interface ReleaseServer {
  url: string;
  files: Map<string, Buffer | string | { redirect: string }>;
  requests: string[];
  close(): Promise<void>;
}

export async function startReleaseServer(): Promise<ReleaseServer> {
  const files = new Map<string, Buffer | string | { redirect: string }>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const entry = files.get(path);
    if (entry === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (typeof entry === 'object' && !Buffer.isBuffer(entry)) {
      res.writeHead(302, { location: entry.redirect }).end();
      return;
    }
    const body = typeof entry === 'string' ? Buffer.from(entry) : entry;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    files,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
