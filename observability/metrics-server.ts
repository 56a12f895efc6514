import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { exposition } from './metrics';

/** A /metrics endpoint on its own port (the worker's), with the URL it listens at. */
export interface MetricsServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics: the registry's families followed by the Temporal SDK's own (fetched from the
 * runtime's Prometheus endpoint, `sdkMetricsAddress`, when given), so one scrape target has both.
 */
export async function serveMetrics(options: {
  host: string;
  port: number;
  registry: Registry;
  sdkMetricsAddress?: string;
}): Promise<MetricsServer> {
  const { registry, sdkMetricsAddress } = options;
  const sdk = sdkMetricsAddress
    ? [
        async () => {
          const res = await fetch(`http://${sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(5000) });
          return res.ok ? await res.text() : '';
        },
      ]
    : [];
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    exposition(registry, sdk).then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
