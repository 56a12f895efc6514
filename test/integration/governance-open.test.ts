import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings } from '../../config/settings';
import { openGovernanceStore } from '../../governance/open';

// The embedded store (PGlite in a folder) belongs to one process at a time: a second opener is
// refused with what to do instead; a lock left by a process that is gone is taken over. Each test
// opens PGlite up to three times, which takes minutes on a busy machine.
const dir = () => mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'governance-'));
const settingsFor = (pgliteDir: string) => loadSettings({ GOVERNANCE_PGLITE_DIR: pgliteDir });

test('a second opener of the same embedded store is refused until the first closes it', async () => {
  const settings = settingsFor(dir());
  const first = await openGovernanceStore(settings);
  await expect(openGovernanceStore(settings)).rejects.toThrow(
    new RegExp(`open in process ${process.pid}; one process at a time .*GOVERNANCE_DATABASE_URL`),
  );
  await first.append({ tenant: 't', principal: 'p', action: 'a', outcome: 'o', reason: 'r' });
  await first.close();
  expect(existsSync(path.join(settings.governance.pgliteDir, 'acp.lock'))).toBe(false);

  // Closed: the next process (here, the next open) gets it, with what the first wrote.
  const again = await openGovernanceStore(settings);
  expect(await again.list({ tenant: 't' })).toHaveLength(1);
  await again.close();
}, 180_000);

test('a lock left by a process that no longer exists does not block the store', async () => {
  const settings = settingsFor(dir());
  // The pid of a process that has exited.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const lock = path.join(settings.governance.pgliteDir, 'acp.lock');
  writeFileSync(lock, gone);
  const store = await openGovernanceStore(settings);
  // Taken over: the lock now names this process, and the store works.
  expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
  await store.append({ tenant: 't', principal: 'p', action: 'a', outcome: 'o', reason: 'after takeover' });
  expect((await store.list({ tenant: 't' })).map((r) => r.reason)).toEqual(['after takeover']);
  await store.close();
  expect(existsSync(lock)).toBe(false);
}, 180_000);
