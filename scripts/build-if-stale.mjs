// `node scripts/build-if-stale.mjs [project root]`: builds dist/ (tsc -p tsconfig.build.json) only when
// a source changed since the last successful build, so `npm run tool` starts in a second or two instead
// of type-checking the whole project on every call. A stamp written after a build that succeeded marks
// dist/ fresh; its time is when that build started, so a source saved during the build still counts as
// newer. A failed build writes no stamp, and the next call builds again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { newestSource } from './build-freshness.mjs';

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..'));
const stamp = path.join(root, 'dist', '.build-stamp');

/** Why dist/ needs a build, or undefined when it is fresh. */
function staleness() {
  if (!existsSync(stamp)) return 'no build recorded in dist/';
  const newest = newestSource(root);
  if (newest.mtimeMs > statSync(stamp).mtimeMs) return `${path.relative(root, newest.file)} changed since the last build`;
  return undefined;
}

const why = staleness();
if (why) {
  const started = new Date();
  process.stderr.write(`building dist/ (${why})\n`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  mkdirSync(path.dirname(stamp), { recursive: true });
  writeFileSync(stamp, `built from sources as of ${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}
