// A TCP proxy between the gateway and Temporal that lets requests through and loses the answers: the
// start of a run reaches the server, and the gateway never hears that it did.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * pass: a plain proxy. cut-once: the next request that carries the marker goes through, the answers on
 * its connection are lost from then on and the connection is closed `closeAfterMs` later (new
 * connections pass meanwhile). blackhole: from the request with the marker on, requests go through, answers never come.
 */
export type ProxyMode = 'pass' | 'cut-once' | 'blackhole';

export interface AnswerCuttingProxy {
  readonly address: string;
  /**
   * Sets the mode; `marker` is a string of the request to lose the answers from (requests are protobuf
   * and uncompressed, so a task queue name shows in a start). Leaving blackhole closes the connections
   * whose answers were lost (their HTTP/2 state is gone).
   */
  mode(next: ProxyMode, marker?: string, closeAfterMs?: number): void;
  close(): Promise<void>;
}

/** Opens a proxy on a free local port in front of `upstream` (host:port), passing until told otherwise. */
export async function answerCuttingProxy(upstream: string): Promise<AnswerCuttingProxy> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  let mode: ProxyMode = 'pass';
  let marker = Buffer.alloc(0);
  let closeAfter = 1_000;
  const lossy = new Set<Socket>();
  const all = new Set<Socket>();
  const server: Server = createServer((client) => {
    const target = connect(port, host);
    for (const s of [client, target]) {
      all.add(s);
      s.on('error', () => undefined);
      s.on('close', () => all.delete(s));
    }
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
    let losing = false;
    client.on('data', (chunk: Buffer) => {
      target.write(chunk);
      if (mode === 'pass' || losing || !chunk.includes(marker)) return;
      losing = true;
      lossy.add(client);
      if (mode === 'cut-once') {
        mode = 'pass';
        setTimeout(() => client.destroy(), closeAfter);
      }
    });
    target.on('data', (chunk: Buffer) => {
      if (!losing) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode(next, mark = '', closeAfterMs = 1_000) {
      closeAfter = closeAfterMs;
      if (mode === 'blackhole' && next !== 'blackhole') for (const s of lossy) s.destroy();
      mode = next;
      marker = Buffer.from(mark);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of all) s.destroy();
        server.close(() => resolve());
      }),
  };
}
