import type { RequestListener, Server, ServerResponse } from 'node:http';

/** A request listener that can be drained: on drain, every answer not yet sent carries `Connection: close`. */
export interface Drainable {
  listener: RequestListener;
  /**
   * Stops accepting connections, closes idle keep-alive sockets, lets in-flight requests finish with
   * `Connection: close`, and at the deadline closes whatever is still open. Resolves once the server is
   * closed, saying whether the deadline had to force it.
   */
  drain(server: Server, deadlineMs: number): Promise<{ forced: boolean }>;
}

/**
 * Wraps an app so a stopping server really stops: `server.close()` alone only stops listening, and a
 * keep-alive client that keeps sending on its open socket would keep the process serving.
 */
export function drainable(app: RequestListener): Drainable {
  let draining = false;
  const open = new Set<ServerResponse>();
  return {
    listener(req, res) {
      // A request that arrives on a kept-alive socket while draining is answered, then its socket closes.
      if (draining) res.setHeader('Connection', 'close');
      open.add(res);
      res.once('close', () => open.delete(res));
      void app(req, res);
    },
    drain(server, deadlineMs) {
      draining = true;
      for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
      return new Promise((resolve) => {
        let forced = false;
        const deadline = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, deadlineMs);
        server.close(() => {
          clearTimeout(deadline);
          resolve({ forced });
        });
        server.closeIdleConnections();
      });
    },
  };
}
