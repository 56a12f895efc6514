import { rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { ensureBuilt, processEnv, scratchDir, spawnScript } from '../support/processes';

// Issue #9, point 8: a process that cannot reach a dependency at start-up exits with a message that
// names the setting and what to check, not a bare `connect ECONNREFUSED 127.0.0.1:25499`.
jest.setTimeout(360_000);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Starts a built entry point with the test's settings plus `bad`, and waits for it to give up. */
async function startWith(script: 'start-worker' | 'start-gateway', bad: (dead: string) => NodeJS.ProcessEnv) {
  const dir = scratchDir('startup');
  dirs.push(dir);
  const { env } = await processEnv(dir);
  // A port nothing listens on: connections to it are refused at once.
  const dead = `127.0.0.1:${await freePort()}`;
  const proc = spawnScript(script, { ...env, ...bad(dead) });
  const { code } = await proc.exited;
  return { code, output: proc.output(), dead };
}

beforeAll(() => ensureBuilt(), 180_000);

test('a wrong GOVERNANCE_DATABASE_URL names the setting, where it points and what to check', async () => {
  const r = await startWith('start-worker', (dead) => ({ GOVERNANCE_DATABASE_URL: `postgres://postgres@${dead}/test` }));
  expect(r.code).toBe(1);
  expect(r.output).toContain(
    `worker failed to start: GOVERNANCE_DATABASE_URL (${r.dead}/test): cannot open the governance store: connect ECONNREFUSED ${r.dead}.`,
  );
  expect(r.output).toContain('Check that PostgreSQL is running and reachable there');
});

test.each(['start-worker', 'start-gateway'] as const)(
  '%s: a wrong TEMPORAL_ADDRESS names the setting and what to check',
  async (script) => {
    const r = await startWith(script, (dead) => ({ TEMPORAL_ADDRESS: dead }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      new RegExp(`failed to start: TEMPORAL_ADDRESS \\(${r.dead}, TEMPORAL_NAMESPACE default\\): cannot connect to Temporal: `),
    );
    expect(r.output).toContain('Check that the Temporal frontend is running and reachable at that address');
  },
);

test('a wrong REDIS_URL stops the gateway before it listens, naming the setting', async () => {
  const r = await startWith('start-gateway', (dead) => ({ REDIS_URL: `redis://${dead}` }));
  expect(r.code).toBe(1);
  expect(r.output).toContain(`gateway failed to start: REDIS_URL (${r.dead}): cannot connect to Redis: connect ECONNREFUSED ${r.dead}.`);
  expect(r.output).not.toContain('gateway listening');
});

test('a missing key file names AUTH_API_KEYS_FILE and the file', async () => {
  const r = await startWith('start-gateway', () => ({ AUTH_API_KEYS_FILE: path.join(process.env.TEST_TMP_DIR!, 'no-such-keys.yaml') }));
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/gateway failed to start: AUTH_API_KEYS_FILE .*no-such-keys\.yaml: ENOENT: no such file or directory/);
});
