// What decides whether dist/ is older than the sources, shared by require-build.mjs (which refuses to
// start a stale build) and build-if-stale.mjs (which builds only when dist/ is stale).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const SKIP = new Set(['node_modules', 'dist', 'test', 'coverage']);

/** The newest input of the build under `dir`: TypeScript sources (tests excluded, as tsconfig.build.json does) and tsconfig files. */
export function newestSource(dir, best = { file: '', mtimeMs: 0 }) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newestSource(file, best);
    else if ((entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) || /^tsconfig.*\.json$/.test(entry.name)) {
      const { mtimeMs } = statSync(file);
      if (mtimeMs > best.mtimeMs) Object.assign(best, { file, mtimeMs });
    }
  }
  return best;
}
