// `npm run eval -- [agent[@version]…] [--live|--record] [--trials N] [--update-baseline] [--compare a@1 a@2]`:
// runs agents' eval suites through the real agentRun workflow (docs/evaluating-agents.md).
import { evalCommand } from '../evals/cli';
import { installTemporalRuntime } from '../worker/worker';
import { createLogger } from '../observability/logger';

installTemporalRuntime(createLogger({ level: 'error', format: 'json', stream: process.stderr }));
evalCommand(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: process.stderr.isTTY,
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm run eval failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
