import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

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

/** The text parts of a tool result, joined: what a server says in its error results. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((c): c is Extract<typeof c, { type: 'text' }> => c.type === 'text')
    .map((c) => c.text)
    .join('\n')
    .trim();
}

/** Resolves with `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
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
