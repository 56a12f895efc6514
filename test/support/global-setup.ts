import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../config/settings';
import { cliVersion, resolveTemporalCli } from '../../temporal/cli';
import { startScratchDevServer } from '../../temporal/dev-server';

/** Starts the one Temporal dev server of this test run (in memory, on a free port, its Web UI on another). */
export default async function globalSetup(): Promise<void> {
  const settings = loadSettings({});
  const cli = resolveTemporalCli({ onProgress: (m) => process.stdout.write(`${m}\n`) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-test-'));
  const server = await startScratchDevServer({ cliPath: cli.path, dir, searchAttributes: settings.searchAttributes, ui: true });
  globalThis.__TEMPORAL_DEV_SERVER__ = server;
  // Test files read these; each test still uses its own task queue and run ids.
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_TEMPORAL_NAMESPACE = server.namespace;
  process.env.TEST_TMP_DIR = dir;
  // The Web UI of the same server, for the browser test (test/integration/web-ui.test.ts).
  if (server.uiUrl) process.env.TEST_TEMPORAL_UI_URL = server.uiUrl;
  process.stdout.write(
    `\nTest platform: Node ${process.version} | ${cliVersion(cli.path)} [${cli.source}] | dev server ${server.address} (UI ${server.uiUrl ?? 'off'})\n`,
  );
}
