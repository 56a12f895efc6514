// The drills `npm run drill` knows, each at a full size (the command) and a small one (the test).
import { gatewaySigterm } from './gateway-sigterm';
import { steadyLoad } from './load';
import { serverRestart } from './server-restart';
import type { DrillResult, Stack } from './stack';
import { storeConnections } from './store-connections';
import { storeOutage } from './store-outage';
import { vendorOutage } from './vendor-outage';
import { workerKill } from './worker-kill';

export type Size = 'full' | 'small';

/** Each drill: what it does, at either size. */
export const DRILLS: Record<string, (s: Stack, size: Size) => Promise<DrillResult>> = {
  'worker-kill': (s, size) => workerKill(s, { runs: size === 'full' ? 20 : 8 }),
  'server-restart': (s, size) => serverRestart(s, { runs: size === 'full' ? 10 : 4 }),
  'gateway-sigterm': (s, size) => gatewaySigterm(s, { clients: size === 'full' ? 8 : 3, seconds: size === 'full' ? 10 : 4 }),
  'store-connections': (s, size) => storeConnections(s, { runs: size === 'full' ? 10 : 4 }),
  'vendor-outage': (s, size) => vendorOutage(s, size === 'full' ? { runs: 20, downSeconds: 10 } : { runs: 4, downSeconds: 2 }),
  'store-outage': (s, size) =>
    storeOutage(s, size === 'full' ? { runs: 20, filers: 4, downSeconds: 10 } : { runs: 4, filers: 1, downSeconds: 2 }),
  load: (s, size) => steadyLoad(s, size === 'full' ? { rate: 20, seconds: 60 } : { rate: 5, seconds: 4 }),
};

/** The results as a table. */
export function drillTable(results: DrillResult[]): string {
  const head = `${'drill'.padEnd(16)} ${'dispatched'.padStart(10)} ${'completed'.padStart(10)} ${'lost'.padStart(5)} ${'duplicated'.padStart(10)}`;
  const rows = results.map(
    (r) =>
      `${r.drill.padEnd(16)} ${String(r.dispatched).padStart(10)} ${String(r.completed).padStart(10)} ${String(r.lost).padStart(5)} ${String(r.duplicated).padStart(10)}\n${r.notes.map((n) => `    ${n}`).join('\n')}`,
  );
  return [head, ...rows].join('\n');
}
