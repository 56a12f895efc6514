import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { scratchDir } from '../support/tools';

// `npm run tool` builds dist/ only when a source changed since the last build that succeeded
// (scripts/build-if-stale.mjs). First on a one-file project of its own, then on this project.
const script = path.join(PROJECT_ROOT, 'scripts', 'build-if-stale.mjs');
const buildIn = (root: string) => spawnSync(process.execPath, [script, root], { encoding: 'utf8' });

describe('build-if-stale on a small project', () => {
  const root = scratchDir('build');
  const source = path.join(root, 'src', 'a.ts');
  const output = path.join(root, 'dist', 'src', 'a.js');
  const stamp = path.join(root, 'dist', '.build-stamp');
  beforeAll(() => {
    mkdirSync(path.dirname(source), { recursive: true });
    writeFileSync(
      path.join(root, 'tsconfig.build.json'),
      JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', strict: true, types: [] }, include: ['src/**/*.ts'] }),
    );
    writeFileSync(source, 'export const a: number = 1;\n');
  });

  test('builds the first time, not the second, and again after a source changes', () => {
    const first = buildIn(root);
    expect([first.status, first.stderr]).toEqual([0, 'building dist/ (no build recorded in dist/)\n']);
    const built = statSync(output).mtimeMs;

    const second = buildIn(root);
    expect([second.status, second.stderr, second.stdout]).toEqual([0, '', '']);
    expect(statSync(output).mtimeMs).toBe(built);

    // The stamp is set back a minute so the edit below is newer than it whatever the clock's resolution.
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(stamp, aMinuteAgo, aMinuteAgo);
    writeFileSync(source, 'export const a: number = 2;\n');
    const third = buildIn(root);
    expect([third.status, third.stderr]).toEqual([0, 'building dist/ (src/a.ts changed since the last build)\n']);
    expect(statSync(output).mtimeMs).toBeGreaterThan(built);
    expect(buildIn(root).stderr).toBe('');
  }, 120_000);

  test('a build that fails is not taken for a fresh one: the next call builds again', () => {
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(stamp, aMinuteAgo, aMinuteAgo);
    writeFileSync(source, "export const a: number = 'not a number';\n");
    for (let i = 0; i < 2; i++) {
      const failed = buildIn(root);
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toContain('building dist/ (src/a.ts changed since the last build)');
      expect(failed.stdout).toContain('error TS2322');
    }
    writeFileSync(source, 'export const a: number = 3;\n');
    expect(buildIn(root).status).toBe(0);
    expect(buildIn(root).stderr).toBe('');
  }, 120_000);
});

test('npm run tool: the second call reuses dist/ (no build line, dist/scripts/tool.js untouched)', () => {
  const tool = () => spawnSync('npm', ['run', 'tool', '--silent', '--', '--list'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const first = tool();
  expect([first.status, first.stderr]).toEqual([0, expect.not.stringContaining('error')]);
  const entry = path.join(PROJECT_ROOT, 'dist', 'scripts', 'tool.js');
  const before = statSync(entry).mtimeMs;
  const second = tool();
  expect(second.status).toBe(0);
  expect(second.stderr).not.toContain('building dist/');
  expect(second.stdout).toMatch(/docs_search\s+typescript\s+read/);
  expect(statSync(entry).mtimeMs).toBe(before);
}, 600_000);
