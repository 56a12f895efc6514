// The ledger is exactly what continue-as-new carries: a carry read back in is written out again byte
// for byte (key order included, since it is the next run's input), with the generation counted up.
import type { RunCarry } from '../../contracts/run';
import { RunLedger } from '../../workflows/ledger';
import { definition } from './steps-harness';

const carry: RunCarry = {
  steps: [{ index: 1, type: 'Plan', started_at: '2026-01-01T00:00:00.000Z', input_summary: 't', reason: 'run started' }],
  usage: { input_tokens: 3, output_tokens: 4, cost_usd: 0.5 },
  observations: [{ step: 2, tool: 'lookup', args: { q: 1 }, output: { a: 1 }, evidence: [] }],
  actions: [{ step: 2, tool: 'lookup', side_effect: 'read', args: { q: 1 } }],
  warnings: ['w'],
  approvals: [],
  repairs: 1,
  fallback_used: true,
  generation: 2,
};

test('a carried ledger carries on unchanged, one generation later', () => {
  const out = new RunLedger(definition(), carry).carry();
  expect(JSON.stringify(out)).toBe(JSON.stringify({ ...carry, generation: 3 }));
});

test('a fresh ledger starts empty at generation 0, and spending adds up in the state the query shows', () => {
  const ledger = new RunLedger(definition(), undefined);
  ledger.spend({ input_tokens: 1, output_tokens: 2, cost_usd: 0.25 });
  expect(ledger.state.usage).toEqual({ input_tokens: 1, output_tokens: 2, cost_usd: 0.25 });
  expect(ledger.carry()).toMatchObject({ steps: [], repairs: 0, fallback_used: false, generation: 1 });
});
