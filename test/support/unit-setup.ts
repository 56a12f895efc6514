import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Gives the unit tests their scratch folder and nothing else: they need no Temporal dev server. */
export default function unitSetup(): void {
  process.env.TEST_TMP_DIR = mkdtempSync(path.join(os.tmpdir(), 'acp-unit-'));
}
