// `npm run eval:capture -- --run <run id> --to agents/<name>/evals/`: a finished run becomes an eval case
// and the plan cassettes that replay it offline (docs/evaluating-agents.md).
import { captureCommand } from '../evals/capture';

captureCommand(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm run eval:capture failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
