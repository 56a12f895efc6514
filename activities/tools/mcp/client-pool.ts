// The process's MCP client connections, one per distinct server, shared by every tool that names it.
import { McpServerConnection, type McpServerSpec } from './connection';

/** One connection per server (same package, arguments, environment and folder) per process. */
const pool = new Map<string, McpServerConnection>();

/** The process's connection to this server, created (not spawned) on first use. */
export function mcpServer(spec: McpServerSpec): McpServerConnection {
  const key = JSON.stringify([
    spec.package ?? null,
    spec.command ?? null,
    spec.url ?? null,
    Object.entries(spec.headers ?? {}).sort(),
    spec.bin ?? null,
    spec.args ?? [],
    Object.entries(spec.env ?? {}).sort(),
    spec.cwd ?? null,
    spec.serial ?? false,
  ]);
  let connection = pool.get(key);
  if (!connection) {
    connection = new McpServerConnection(spec);
    pool.set(key, connection);
  }
  return connection;
}

/** Stops every server process this process started through {@link mcpServer}: call it at worker shutdown. */
export async function closeMcpServers(): Promise<void> {
  await Promise.all([...pool.values()].map((c) => c.close()));
}
