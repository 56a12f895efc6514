// `npm run dev`: the whole platform on one machine. Starts (or reuses) a Temporal dev server with its
// Web UI, registers the search attributes, then runs the worker and the gateway in this process.
import { loadSettings, PROJECT_ROOT, type Settings } from '../config/settings';
import { cliVersion, resolveTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/dev-server';
import { DEV_PRINCIPALS, devApiKeys } from '../gateway/dev-principals';
import type { Logger } from '../observability/logger';
import { tracingFromEnv } from '../observability/tracing';
import { installTemporalRuntime } from '../worker/worker';
import { processLogger, startGateway, startWorker } from './runtime';
import { openGovernanceStore } from '../governance/open';
import type { GovernanceStore } from '../governance/store';
import path from 'node:path';
import { startStatusServer } from '../agents/incident-investigator/status-server';

type DevServer = Awaited<ReturnType<typeof startDevServer>>;
type StatusServer = Awaited<ReturnType<typeof startStatusServer>>;
type Cli = ReturnType<typeof resolveTemporalCli>;

/** What the dev platform started, in the order it started them; `stop` closes it in reverse. */
interface Platform {
  server: DevServer;
  status: StatusServer;
  governance: GovernanceStore;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  worker: Awaited<ReturnType<typeof startWorker>>;
  uiUrl: string | undefined;
}

/** Starts (or reuses) the Temporal dev server the settings describe, and logs where it is. */
async function startTemporal(settings: Settings, cli: Cli, logger: Logger): Promise<DevServer> {
  const d = settings.devServer;
  const server = await startDevServer({
    cliPath: cli.path,
    ip: d.ip,
    port: d.port,
    uiPort: d.uiPort,
    namespace: d.namespace,
    dbFile: d.dbFile,
    logFile: d.logFile,
    searchAttributes: settings.searchAttributes,
  });
  logger.info(server.reused ? 'reusing the Temporal server already listening' : 'temporal dev server started', {
    address: server.address,
    ui: settings.temporalUiUrl ?? server.uiUrl,
    db_file: server.reused ? undefined : path.relative(PROJECT_ROOT, d.dbFile),
    log_file: server.reused ? undefined : path.relative(PROJECT_ROOT, d.logFile),
  });
  return server;
}

/**
 * The example incident agent's status API (tools/incidents.yaml reads STATUS_URL).
 * STATUS_PORT, else 8090, else (8090 taken) any free port: STATUS_URL follows it.
 */
async function startStatus(): Promise<StatusServer> {
  const status = await startStatusServer(Number(process.env.STATUS_PORT ?? 8090)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' || process.env.STATUS_PORT) throw err;
    return startStatusServer(0);
  });
  process.env.STATUS_URL ??= status.url;
  return status;
}

/** Runs every close in turn, logging (not throwing) a failed one so the next still runs. */
async function closeAll(logger: Logger, closes: ((() => Promise<unknown>) | undefined)[]): Promise<void> {
  for (const close of closes) {
    if (!close) continue;
    try {
      await close();
    } catch (err) {
      logger.error('cleanup after a failed start failed', { error: String(err) });
    }
  }
}

/**
 * Opens the governance store and starts the gateway, then the worker. The worker comes last: a created
 * worker holds its NativeConnection until it has run and shut down, so closing it after a later failure
 * would throw over the error that mattered. A failure closes what had started and rethrows the cause.
 */
async function startPlatform(settings: Settings, server: DevServer, status: StatusServer, logger: Logger): Promise<Platform> {
  const uiUrl = settings.temporalUiUrl ?? server.uiUrl;
  const target = { address: server.address, namespace: server.namespace, connectionOptions: { address: server.address } };
  // One governance store for both: the embedded one (the dev default) is a single process's.
  let governance: GovernanceStore | undefined;
  let gateway: Platform['gateway'] | undefined;
  try {
    governance = await openGovernanceStore(settings);
    gateway = await startGateway(settings, target, processLogger(settings, 'gateway'), uiUrl, devApiKeys(), governance);
    const worker = await startWorker(settings, target, governance);
    return { server, status, governance, gateway, worker, uiUrl };
  } catch (err) {
    const opened = governance;
    await closeAll(logger, [gateway?.close, opened && (() => opened.close()), () => status.close(), () => server.stop()]);
    throw err;
  }
}

/** The banner a newcomer reads: where everything is and a first curl to try. */
function banner(settings: Settings, platform: Platform, cli: Cli, version: string): string {
  const { server, status, uiUrl } = platform;
  const base = settings.gateway.publicUrl;
  const body = JSON.stringify({ agent: 'docs-researcher', task: 'How do I dispatch a run?' });
  const where = server.reused ? 'reused' : 'started here, persisted to ' + path.relative(PROJECT_ROOT, settings.devServer.dbFile);
  return [
    '',
    'Agent control plane (dev) is up.',
    `  Gateway       ${base}`,
    `  Temporal UI   ${uiUrl ?? '(none)'}`,
    `  Temporal      ${server.address}, namespace ${server.namespace} (${where})`,
    `  Task queue    ${settings.taskQueue}`,
    `  Status API    ${status.url} (for the incident-investigator agent)`,
    `  Temporal CLI  ${version} [${cli.source}]`,
    '',
    'Dispatch the example agent:',
    `  curl -s -X POST ${base}/v1/runs -H 'Authorization: Bearer ${DEV_PRINCIPALS[0]!.key}' -H 'Content-Type: application/json' -d '${body}'`,
    'Then read the run (status, steps, output) with the run_id it returned:',
    `  curl -s ${base}/v1/runs/RUN_ID -H 'Authorization: Bearer ${DEV_PRINCIPALS[0]!.key}'`,
    '',
    'Demo API keys (dev only; never accepted by npm run start:gateway):',
    ...DEV_PRINCIPALS.map((p) => `  ${p.key.padEnd(20)} ${p.subject} (tenant ${p.tenant}; roles ${p.roles.join(', ')}): ${p.what}`),
    '',
    'Ctrl-C stops everything started here.',
    '',
  ].join('\n');
}

/** Ctrl-C (SIGINT) and SIGTERM stop the gateway, then the running worker, then what they used. */
function stopOnSignals(platform: Platform, running: Promise<void>, logger: Logger): void {
  const { gateway, worker, governance, status, server } = platform;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await gateway.close();
    // The SDK runtime has already begun the worker's shutdown on this signal; wait for it to finish.
    if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
    await running;
    await worker.close();
    await governance.close();
    await status.close();
    await server.stop();
    logger.info('stopped');
    process.exit(0);
  };
  // No SIGHUP handler here on purpose: closing the terminal sends SIGHUP, and that must stop the dev
  // platform. Reload the policy with POST /v1/policy/reload and the admin demo key.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stop(signal).catch((err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      });
    });
  }
}

async function main(): Promise<void> {
  // A terminal gets readable lines; piped output (and LOG_FORMAT=json) gets JSON.
  if (!process.env.LOG_FORMAT && process.stdout.isTTY) process.env.LOG_FORMAT = 'pretty';
  const settings = loadSettings();
  const logger = processLogger(settings, 'dev');
  // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/observability.md); off otherwise.
  tracingFromEnv(process.env, 'acp-dev', logger);
  installTemporalRuntime(
    processLogger(settings, 'worker'),
    settings.workerMetrics.port === 0 ? undefined : settings.workerMetrics.sdkAddress,
  );

  const cli = resolveTemporalCli({ onProgress: (m) => logger.info(m) });
  const version = cliVersion(cli.path);
  logger.info('temporal cli', { path: cli.path, source: cli.source, version });

  const server = await startTemporal(settings, cli, logger);
  const status = await startStatus();
  const platform = await startPlatform(settings, server, status, logger);
  const running = platform.worker.worker.run();
  process.stdout.write(banner(settings, platform, cli, version));
  stopOnSignals(platform, running, logger);
}

main().catch((err: unknown) => {
  console.error(`npm run dev failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
