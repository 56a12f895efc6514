// `npm run replay -- --run <id>… | --query '<visibility query>'`: replays live histories against the
// current workflow code before a deploy; exit 1 on non-determinism (docs/evaluating-agents.md).
import { replayCommand } from '../evals/replay-gate';
import { createLogger } from '../observability/logger';
import { installTemporalRuntime } from '../worker/worker';

installTemporalRuntime(createLogger({ level: 'error', format: 'json', stream: process.stderr }));
replayCommand(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm run replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
