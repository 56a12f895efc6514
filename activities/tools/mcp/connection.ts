// One MCP client connection to one server process (stdio) or endpoint (streamable HTTP).
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ErrorCode as McpErrorCode,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ApplicationFailure } from '@temporalio/common';
import { Mutex, type MutexInterface } from 'async-mutex';
import { childOf, hold, markRunning, resolveServerEntry } from './server-process';

/** The failure type of a call the MCP server answered with `isError: true` (not retried). */
export const MCP_TOOL_ERROR = 'McpToolError';

/** The text parts of a tool result, joined: what a server says in its error results. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((c): c is Extract<typeof c, { type: 'text' }> => c.type === 'text')
    .map((c) => c.text)
    .join('\n')
    .trim();
}

/** Resolves with `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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

/** The default per-call timeout when a caller gives none (the SDK's own default). */
const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const STDERR_LINES_KEPT = 20;

/**
 * An MCP server: one the platform runs itself over stdio (an npm package installed in node_modules,
 * or a command), or one it reaches over streamable HTTP (`url`).
 */
export interface McpServerSpec {
  /** A short name for errors and logs, e.g. `memory`. */
  name: string;
  /** The npm package holding the server. Its JS entry (the package's `bin`) runs on this process's Node. */
  package?: string;
  /** A command to run instead of a package (looked up on PATH). */
  command?: string;
  /** A server over streamable HTTP, with the headers each request carries. */
  url?: string;
  headers?: Record<string, string>;
  /** Which `bin` of the package, when it has several. */
  bin?: string;
  /** Extra command-line arguments for the server. */
  args?: string[];
  /**
   * The server's environment, on top of the SDK's minimal safe set (HOME, PATH, SHELL, TERM, USER,
   * LOGNAME): the worker's own variables (API keys, database URLs) are not passed on.
   */
  env?: Record<string, string>;
  cwd?: string;
  /** How long spawning the server and the MCP handshake may take (default 30 s: a cold `node` server on a loaded machine is slow to start). */
  connect_timeout_ms?: number;
  /**
   * Send one call at a time. For servers that read, change and rewrite a file per call (such as
   * server-memory): two concurrent calls there could lose one write.
   */
  serial?: boolean;
}

interface Live {
  client: Client;
  transport: Transport;
  child: ChildProcess | undefined;
  closed: boolean;
  /** Calls waiting on this server process. */
  inFlight: number;
}

/**
 * One client connection to one MCP server process over stdio (`@modelcontextprotocol/sdk`'s
 * `Client` and `StdioClientTransport`).
 *
 * - The server is spawned lazily, on the first call, as `process.execPath <package entry>`.
 * - A server that died (crashed, killed) is noticed through the transport's close, and the next call
 *   spawns a new one. A call in flight when it dies fails with a plain (retryable) error.
 * - Each call honours an abort signal (the SDK sends `notifications/cancelled` to the server) and a
 *   timeout.
 * - The server process does not keep this process alive: its handles are unref'd between calls. It
 *   does not outlive it either: its stdin closes when this process ends, and `close()` or the exit
 *   hook end it before that.
 */
export class McpServerConnection {
  readonly spec: McpServerSpec;
  /** The JS file the server runs. */
  readonly entry: string;
  /** How many server processes this connection has started (1 until a server dies or is closed). */
  spawns = 0;
  private live: Live | undefined;
  private connecting: Promise<Live> | undefined;
  /** Serialises calls to a `serial` server (one that cannot take two calls at once). */
  private readonly mutex = new Mutex();
  private stderrTail: string[] = [];

  constructor(spec: McpServerSpec) {
    this.spec = spec;
    this.entry = spec.package ? resolveServerEntry(spec.package, spec.bin) : (spec.command ?? spec.url ?? '');
    if (!this.entry) throw new Error(`MCP server ${spec.name}: give a package, a command or a url`);
  }

  /** The server's process id while one runs. */
  get pid(): number | undefined {
    const transport = this.live && !this.live.closed ? this.live.transport : undefined;
    return transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
  }

  /** The last lines the server wrote to stderr (for error messages and debugging). */
  stderr(): string[] {
    return [...this.stderrTail];
  }

  /**
   * Calls a tool of the server. A result with `isError: true` throws a non-retryable
   * `ApplicationFailure` of type {@link MCP_TOOL_ERROR} with the server's message; a server that
   * cannot start, dies or times out throws a plain (retryable) `Error`; an aborted signal throws its
   * reason.
   */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<CallToolResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const answer = await this.exclusive(signal, async () => {
      const live = await abortable(this.connect(), signal);
      if (live.inFlight++ === 0) hold(live.child, true);
      try {
        return await live.client.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
          ...(signal ? { signal } : {}),
          timeout: options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
        });
      } catch (err) {
        const abandoned = signal?.aborted || (err instanceof McpError && err.code === (McpErrorCode.RequestTimeout as number));
        // A server may finish a call we stopped waiting for (server-memory ignores cancellation). For a
        // serial server, stop the process before the next call may start, so two calls never overlap.
        if (abandoned && this.spec.serial && this.live === live) await this.close();
        if (signal?.aborted) throw (signal.reason as Error | undefined) ?? err;
        throw this.describe(tool, err);
      } finally {
        if (--live.inFlight === 0 && !live.closed) hold(live.child, false);
      }
    });
    // The SDK's type allows a pre-2024 `toolResult` answer; a current server sends `content`.
    const result = CallToolResultSchema.parse(answer);
    if (result.isError) {
      throw ApplicationFailure.create({
        type: MCP_TOOL_ERROR,
        message: `MCP server ${this.spec.name}, tool ${tool}: ${resultText(result) || 'failed without a message'}`,
        nonRetryable: true,
        details: [{ server: this.spec.name, tool }],
      });
    }
    return result;
  }

  /** The server's tools (`tools/list`, every page), connecting (or spawning the server) first. */
  async listTools(timeoutMs?: number): Promise<Tool[]> {
    const live = await this.connect();
    // Like a call, the listing keeps this process alive until the server answers.
    if (live.inFlight++ === 0) hold(live.child, true);
    try {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await live.client.listTools(cursor ? { cursor } : {}, timeoutMs ? { timeout: timeoutMs } : {});
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    } finally {
      if (--live.inFlight === 0 && !live.closed) hold(live.child, false);
    }
  }

  /** Stops the server process (stdin closed, then SIGTERM, then SIGKILL). A later call spawns a new one. */
  async close(): Promise<void> {
    const pending = this.connecting;
    if (pending) await pending.catch(() => undefined);
    const live = this.live;
    this.live = undefined;
    if (live && !live.closed) {
      // Keep this process alive until the server has gone: the SDK waits on unref'd timers, and with the
      // child's handles unref'd too a stopping worker would end in the middle of its shutdown.
      hold(live.child, true);
      await live.client.close();
    }
    markRunning(this, false);
  }

  /** Synchronous last resort at process exit. */
  killNow(): void {
    if (this.live && !this.live.closed) this.live.child?.kill();
  }

  private connect(): Promise<Live> {
    if (this.live && !this.live.closed) return Promise.resolve(this.live);
    this.connecting ??= this.spawn().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async spawn(): Promise<Live> {
    const { name, args = [], env = {}, cwd, connect_timeout_ms = 30_000 } = this.spec;
    let transport: Transport;
    if (this.spec.url) {
      transport = new StreamableHTTPClientTransport(new URL(this.spec.url), { requestInit: { headers: this.spec.headers ?? {} } });
    } else {
      const stdio = new StdioClientTransport({
        command: this.spec.package ? process.execPath : this.entry,
        args: this.spec.package ? [this.entry, ...args] : args,
        env: { ...getDefaultEnvironment(), ...env },
        ...(cwd ? { cwd } : {}),
        stderr: 'pipe',
      });
      stdio.stderr?.on('data', (chunk: Buffer) => this.keepStderr(chunk));
      transport = stdio;
    }
    const client = new Client({ name: 'agent-control-plane', version: '0.1.0' }, { capabilities: {} });
    const live: Live = { client, transport, child: undefined, closed: false, inFlight: 0 };
    client.onclose = () => {
      live.closed = true;
      if (this.live === live) this.live = undefined;
      if (!this.live) markRunning(this, false);
    };
    try {
      await client.connect(transport, { timeout: connect_timeout_ms });
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new Error(`MCP server ${name} (${this.entry}) did not start: ${(err as Error).message}${this.tail()}`, { cause: err });
    }
    live.child = transport instanceof StdioClientTransport ? childOf(transport) : undefined;
    hold(live.child, false);
    this.live = live;
    this.spawns++;
    markRunning(this, true);
    return live;
  }

  /** Runs `fn` after the calls before it when the server is `serial`; leaves the queue if aborted while waiting. */
  private async exclusive<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (!this.spec.serial) return fn();
    const acquiring = this.mutex.acquire();
    let release: MutexInterface.Releaser;
    try {
      release = await abortable(acquiring, signal);
    } catch (err) {
      // Aborted while waiting: hand the turn on as soon as it comes, without running.
      void acquiring.then((releaseLater) => releaseLater());
      throw err;
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private describe(tool: string, err: unknown): Error {
    const what = `MCP server ${this.spec.name}, tool ${tool}`;
    if (err instanceof McpError) {
      const code = err.code as McpErrorCode;
      if (code === McpErrorCode.ConnectionClosed)
        return new Error(`${what}: the server exited during the call${this.tail()}`, { cause: err });
      if (code === McpErrorCode.RequestTimeout) return new Error(`${what}: ${err.message}`, { cause: err });
      // The server refused the request itself (unknown tool, invalid arguments): a retry cannot help.
      if (code === McpErrorCode.InvalidRequest || code === McpErrorCode.MethodNotFound || code === McpErrorCode.InvalidParams) {
        return ApplicationFailure.create({ type: MCP_TOOL_ERROR, message: `${what}: ${err.message}`, nonRetryable: true, cause: err });
      }
    }
    return new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  private keepStderr(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.splice(0, this.stderrTail.length - STDERR_LINES_KEPT);
  }

  private tail(): string {
    return this.stderrTail.length ? ` (server stderr: ${this.stderrTail.slice(-3).join(' | ')})` : '';
  }
}
