import { DRILLS } from '../../scripts/drills/catalog';
import { startStack, type DrillResult, type Stack } from '../../scripts/drills/stack';
import { ensureBuilt } from '../support/processes';

// The fault drills of `npm run drill` at a small size: each on a platform of its own (a dev server on a
// file, worker and gateway processes, the store in its own PostgreSQL schema), and none may lose a run
// or repeat an effect.
jest.setTimeout(300_000);

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const drill = async (name: string): Promise<DrillResult> => {
  await ensureBuilt();
  stack = await startStack();
  return DRILLS[name]!(stack, 'small');
};

test.each(['worker-kill', 'store-connections', 'vendor-outage', 'store-outage', 'load'])(
  'drill %s loses no run and repeats no effect',
  async (name) => {
    const r = await drill(name);
    expect(r.dispatched).toBeGreaterThan(0);
    expect({ lost: r.lost, duplicated: r.duplicated, completed: r.completed }).toEqual({ lost: 0, duplicated: 0, completed: r.dispatched });
  },
);
