// Preloaded by the npm start scripts (`exec node --import ./scripts/require-build.mjs dist/scripts/…`):
// the start scripts never build, so a worker and a gateway started together cannot rebuild dist/ under
// each other, and `exec` makes node npm's child in place of the shell, so a supervisor's SIGTERM to npm
// (which npm forwards to its child) reaches node. This stops a start with what to do when dist/ is
// missing or older than the sources. Run directly, it checks the two production entry points and exits 1
// if either needs a build (tests use that).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestSource } from './build-freshness.mjs';

const root = path.resolve(import.meta.dirname, '..');

/** Why `entry` cannot be started as built, or undefined when it can. */
function problem(entry) {
  const shown = path.relative(root, entry);
  if (!existsSync(entry)) return `${shown} is missing: run \`npm run build\` first (the start scripts do not build).`;
  const newest = newestSource(root);
  if (newest.mtimeMs > statSync(entry).mtimeMs)
    return `${shown} is older than ${path.relative(root, newest.file)}: run \`npm run build\` first (the start scripts do not build).`;
  return undefined;
}

const main = process.argv[1] ? path.resolve(process.argv[1]) : '';
const entries =
  main === fileURLToPath(import.meta.url)
    ? ['start-worker.js', 'start-gateway.js'].map((f) => path.join(root, 'dist', 'scripts', f))
    : [main].filter((f) => f.startsWith(path.join(root, 'dist') + path.sep));
for (const entry of entries) {
  const why = problem(entry);
  if (why) {
    console.error(why);
    process.exit(1);
  }
}
