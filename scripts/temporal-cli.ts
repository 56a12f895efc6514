// `npm run temporal:cli -- <args>`: runs the provisioned Temporal CLI (installing the pinned version if needed),
// e.g. `npm run temporal:cli -- workflow list --query 'AgentName="docs-researcher"'`.
import { spawnSync } from 'node:child_process';
import { resolveTemporalCli } from '../temporal/cli';

try {
  const cli = resolveTemporalCli({ onProgress: (m) => console.error(m) });
  const res = spawnSync(cli.path, process.argv.slice(2), { stdio: 'inherit' });
  process.exit(res.status ?? 1);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
