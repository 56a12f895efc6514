import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { PROJECT_ROOT } from '../../config/settings';
import { PG_URL } from './governance';
import { eventually, testTemporal, uniqueQueue } from './platform';

/**
 * Builds dist/ once per test run when it is missing or older than the sources (the start scripts do not
 * build). A lock in the run's temporary folder keeps two test files from building at the same time.
 */
export async function ensureBuilt(): Promise<void> {
  const fresh = () => spawnSync(process.execPath, ['scripts/require-build.mjs'], { cwd: PROJECT_ROOT }).status === 0;
  const done = path.join(process.env.TEST_TMP_DIR!, 'dist-built');
  try {
    mkdirSync(`${done}.lock`);
  } catch {
    await eventually(async () => (existsSync(done) ? true : undefined), 180_000, 'the other test file to build dist/');
    const failure = readFileSync(done, 'utf8');
    if (failure) throw new Error(failure);
    return;
  }
  let failure = '';
  if (!fresh()) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    if (build.status !== 0) failure = `npm run build failed:\n${build.stdout}${build.stderr}`;
  }
  writeFileSync(done, failure);
  if (failure) throw new Error(failure);
}

import { platformEnv } from '../../scripts/drills/processes';

export { spawnProc, spawnScript, type Proc } from '../../scripts/drills/processes';

/** The environment of a worker and a gateway of one test: the suite's Temporal, its own queue, files and key. */
export function processEnv(dir: string, extra: NodeJS.ProcessEnv = {}): Promise<{ env: NodeJS.ProcessEnv; port: number; key: string }> {
  return platformEnv({ ...testTemporal(), taskQueue: uniqueQueue('proc'), dir }, extra);
}

/** A scratch folder under the test run's temporary folder. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.TEST_TMP_DIR!, `${prefix}-`));
}

/** A PostgreSQL schema of the test's own, and URLs whose connections use it and carry `<schema>_<app>` as application_name. */
export async function pgSchema(): Promise<{ url: (app: string) => string; schema: string; admin: Pool; drop(): Promise<void> }> {
  const schema = `acp_test_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = (app: string) => `${PG_URL}?application_name=${schema}_${app}&options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    schema,
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
