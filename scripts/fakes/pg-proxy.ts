// A TCP proxy in front of PostgreSQL that a drill (or a test) takes down, refusing new connections and
// cutting the open ones, and brings back on the same port: the store unreachable for a while.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface PgProxy {
  readonly port: number;
  /** Listens on the proxy's port again (resolves once it does). */
  up(): Promise<void>;
  /** Stops listening and cuts every connection through it. */
  down(): void;
}

/** A proxy on 127.0.0.1:`port` to `upstream` (default: PostgreSQL at 127.0.0.1:5432); call up() to open it. */
export function pgProxy(port: number, upstream: { host: string; port: number } = { host: '127.0.0.1', port: 5432 }): PgProxy {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    port,
    up: () =>
      new Promise<void>((resolve) => {
        server = createServer((client) => {
          const target = connect(upstream.port, upstream.host);
          for (const s of [client, target]) {
            sockets.add(s);
            s.on('error', () => undefined);
            s.on('close', () => sockets.delete(s));
          }
          client.pipe(target).pipe(client);
          client.on('close', () => target.destroy());
          target.on('close', () => client.destroy());
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    down: () => {
      server?.close();
      sockets.forEach((s) => s.destroy());
    },
  };
}
