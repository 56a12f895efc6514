// The command-line parse the eval commands share: a malformed option prints the command's usage.
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { CommandIO } from './cli';

/** `parse()`'s answer, or undefined after writing its error and `usage` to stderr (the caller exits 2). */
export function parsedOrUsage<T>(io: CommandIO, usage: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    io.err(`${(e as Error).message}\n${usage}\n`);
    return undefined;
  }
}

/** The options naming the Temporal server a command talks to (else TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE). */
export const TEMPORAL_OPTIONS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
} as const;

/**
 * A client on the server TEMPORAL_OPTIONS name, else on Temporal's environment conventions (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, the CLI's config file); the caller closes `connection`.
 */
export async function connectTemporal(o: { address?: string | undefined; namespace?: string | undefined }) {
  const env = loadClientConnectConfig();
  const address = o.address ?? env.connectionOptions.address ?? 'localhost:7233';
  const connection = await Connection.connect({ ...(o.address ? {} : env.connectionOptions), address });
  return { connection, client: new Client({ connection, namespace: o.namespace ?? env.namespace ?? 'default' }) };
}
