import { rmSync } from 'node:fs';

/** Stops the test run's Temporal dev server and removes its temporary folder. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__TEMPORAL_DEV_SERVER__?.stop();
  if (process.env.TEST_TMP_DIR) rmSync(process.env.TEST_TMP_DIR, { recursive: true, force: true });
}
