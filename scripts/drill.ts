// `npm run drill [name…]`: fault drills against a platform it starts itself (a dev server on a file,
// the worker and the gateway as processes, the governance store on PostgreSQL: DRILL_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/test, in a schema of its own). Prints what each drill
// dispatched, completed, lost and duplicated; exits 1 if anything was lost or duplicated.
import { DRILLS, drillTable } from './drills/catalog';
import { startStack, type DrillResult } from './drills/stack';

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in DRILLS));
  if (unknown.length) {
    console.error(`unknown drill ${unknown.join(', ')}; the drills are: ${Object.keys(DRILLS).join(', ')}`);
    return 2;
  }
  const results: DrillResult[] = [];
  for (const name of names.length ? names : Object.keys(DRILLS)) {
    process.stderr.write(`drill ${name}: starting a fresh platform\n`);
    // Each drill gets a platform of its own, so one drill's damage cannot hide in the next one's numbers.
    const stack = await startStack({ log: (m) => process.stderr.write(`drill ${name}: ${m}\n`) });
    try {
      results.push(await DRILLS[name]!(stack, 'full'));
    } finally {
      await stack.stop();
    }
    process.stdout.write(drillTable(results.slice(-1)) + '\n');
  }
  process.stdout.write(`\n${drillTable(results)}\n`);
  return results.some((r) => r.lost > 0 || r.duplicated > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`drill failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
