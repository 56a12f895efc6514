// The gateway SIGTERMed under load from keep-alive clients: the requests it answered 202 all have runs
// that complete; the ones it did not answer are refused (the client sees an error and retries), not lost.
import { drillResult, type DrillResult, type Stack } from './stack';

export async function gatewaySigterm(s: Stack, size: { clients: number; seconds: number }): Promise<DrillResult> {
  const accepted: string[] = [];
  let refused = 0;
  let stop = false;
  // fetch keeps connections alive: each client reuses its connection until the gateway closes it.
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      const id = await s.dispatch('docs-researcher', `client ${c} request ${i}`).catch(() => undefined);
      if (id) accepted.push(id);
      else {
        refused += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const clients = Array.from({ length: size.clients }, (_, c) => client(c));
  await new Promise((r) => setTimeout(r, (size.seconds * 1000) / 2));
  await s.restartGateway('SIGTERM');
  await new Promise((r) => setTimeout(r, (size.seconds * 1000) / 2));
  stop = true;
  await Promise.all(clients);
  const counts = await s.settle(accepted, 180_000);
  return drillResult('gateway-sigterm', accepted, counts, {
    notes: [
      `${size.clients} keep-alive clients; gateway SIGTERMed halfway and started again`,
      `requests refused while it was down: ${refused}`,
    ],
  });
}
