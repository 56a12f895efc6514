// The operating-system side of a stdio MCP server: where its program is, its child process, and the
// exit hook that takes the servers down with the worker.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/**
 * The absolute path of an npm package's JS entry (its `bin`), resolved from node_modules: the server
 * runs from the installed package, never through npx or the network.
 */
export function resolveServerEntry(pkg: string, bin?: string): string {
  let manifest: string | undefined;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    // A package whose `exports` hide package.json: look for it in the usual node_modules folders.
    for (const dir of require.resolve.paths(pkg) ?? []) {
      const candidate = path.join(dir, pkg, 'package.json');
      try {
        readFileSync(candidate);
        manifest = candidate;
        break;
      } catch {
        continue;
      }
    }
  }
  if (!manifest) throw new Error(`MCP server package "${pkg}" is not installed (npm install --save-exact ${pkg})`);
  const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; bin?: string | Record<string, string>; main?: string };
  const bins: Record<string, string> =
    typeof json.bin === 'string' ? { [(json.name ?? pkg).split('/').pop()!]: json.bin } : (json.bin ?? {});
  const names = Object.keys(bins);
  const chosen = bin ?? (names.length === 1 ? names[0] : undefined);
  const relative = chosen ? bins[chosen] : names.length === 0 ? json.main : undefined;
  if (!relative) {
    throw new Error(
      bin
        ? `package "${pkg}" has no bin "${bin}" (has: ${names.join(', ') || 'none'})`
        : `package "${pkg}" has several bins (${names.join(', ')}): name one`,
    );
  }
  return path.resolve(path.dirname(manifest), relative);
}

/**
 * The transport's child process. The SDK does not expose it; we need it only to unref its handles
 * (a server must not keep the worker alive) and to kill it at exit. Undefined if the SDK changes.
 */
export function childOf(transport: StdioClientTransport): ChildProcess | undefined {
  const child = (transport as unknown as { _process?: ChildProcess })._process;
  return child && typeof child.unref === 'function' ? child : undefined;
}

type Refable = { ref?: () => void; unref?: () => void } | null | undefined;

/** Keeps this process alive for the server's sake only while a call waits on it. */
export function hold(child: ChildProcess | undefined, on: boolean): void {
  if (!child) return;
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as Refable[]) {
    if (on) handle?.ref?.();
    else handle?.unref?.();
  }
}

/** What the exit hook needs of a connection: a synchronous kill of its server process. */
interface Killable {
  killNow(): void;
}

/** Connections with a server process right now, for the exit hook. */
const running = new Set<Killable>();
let exitHookInstalled = false;

/**
 * Marks a connection as having a live server process (or not). A worker that exits without close()
 * (process.exit, an uncaught error) takes its servers with it; a worker that is killed closes their
 * stdin, on which a stdio server exits by itself.
 */
export function markRunning(connection: Killable, live: boolean): void {
  if (!live) {
    running.delete(connection);
    return;
  }
  running.add(connection);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of running) c.killNow();
  });
}
