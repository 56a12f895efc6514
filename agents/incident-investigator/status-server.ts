import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The services the example status server knows, and how they are doing. */
const SERVICES: Record<string, { status: 'ok' | 'degraded' | 'down'; p95_ms: number; error_rate: number }> = {
  checkout: { status: 'degraded', p95_ms: 2300, error_rate: 0.04 },
  search: { status: 'ok', p95_ms: 180, error_rate: 0.001 },
  payments: { status: 'down', p95_ms: 0, error_rate: 1 },
};

/** A running status server: its base URL (what STATUS_URL names) and how to stop it. */
export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The local status API the incident-investigator agent reads through the `service_status` http tool:
 * `GET /services/<name>/status` answers JSON, 404 for a service it does not know. Started by
 * `npm run dev` and by the agent's evals; a stand-in for a real status page or monitoring API.
 */
export async function startStatusServer(port = 0, host = '127.0.0.1'): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const match = /^\/services\/([a-z0-9-]+)\/status$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const service = match ? SERVICES[match[1]!] : undefined;
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'GET' || !match) return void res.writeHead(404).end(JSON.stringify({ error: 'not found' }));
    if (!service) return void res.writeHead(404).end(JSON.stringify({ error: `unknown service ${match[1]}` }));
    res.end(JSON.stringify({ service: match[1], ...service, checked_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
