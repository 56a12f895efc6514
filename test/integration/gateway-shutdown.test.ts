import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { ensureBuilt, processEnv, scratchDir, spawnScript, type Proc } from '../support/processes';

// Issue #9, point 6: SIGTERM stops the gateway within GATEWAY_SHUTDOWN_SECONDS even while a keep-alive
// client keeps sending and another request never finishes: no new connections, `Connection: close` on
// the answers still given, idle sockets closed, and whatever is open at the deadline closed.
jest.setTimeout(360_000);

let gateway: Proc | undefined;
let dir: string;
afterAll(() => {
  gateway?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** GET over a shared keep-alive agent: the status and the Connection header of the answer. */
function get(port: number, agent: Agent, path: string, auth: string): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: auth } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('SIGTERM with a keep-alive client sending in a loop and a request that never ends exits within the deadline', async () => {
  await ensureBuilt();
  dir = scratchDir('shutdown');
  const deadlineSeconds = 3;
  const { env, port, key } = await processEnv(dir, { GATEWAY_SHUTDOWN_SECONDS: String(deadlineSeconds) });
  gateway = spawnScript('start-gateway', env);
  await gateway.waitFor('gateway listening');
  const auth = `Bearer ${key}`;

  // A request whose body never completes: only the deadline ends it.
  const stuck = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/runs',
    headers: { authorization: auth, 'content-type': 'application/json', 'content-length': 1000 },
  });
  stuck.on('error', () => undefined);
  stuck.write('{"agent":');

  // A keep-alive client sending as fast as it is answered, on one socket.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let sigtermAt = 0;
  let running = true;
  const afterSigterm: { status: number; connection: string | undefined }[] = [];
  let refused = 0;
  const loop = (async () => {
    while (running) {
      try {
        const answer = await get(port, agent, '/v1/agents', auth);
        expect(answer.status).toBe(200);
        if (sigtermAt) afterSigterm.push(answer);
      } catch {
        if (sigtermAt) refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 1_000));

  sigtermAt = Date.now();
  gateway.child.kill('SIGTERM');
  const { code } = await gateway.exited;
  const seconds = (Date.now() - sigtermAt) / 1000;
  running = false;
  await loop;
  agent.destroy();

  expect(code).toBe(0);
  // The deadline plus the time to close Temporal's connection and the store.
  expect(seconds).toBeLessThan(deadlineSeconds + 3);
  expect(seconds).toBeGreaterThanOrEqual(deadlineSeconds - 0.5);
  // The looping client got at most the answer in flight at SIGTERM (it may have been written before the
  // gateway handled the signal, so it need not say `Connection: close`); no request sent after it was
  // answered, and its reconnects failed.
  expect(afterSigterm.length).toBeLessThanOrEqual(1);
  expect(refused).toBeGreaterThan(0);
  expect(gateway.output()).toContain('"closed_open_connections_at_deadline":true');
  process.stdout.write(`gateway exited ${seconds.toFixed(2)} s after SIGTERM; ${afterSigterm.length} answers after SIGTERM\n`);
});
