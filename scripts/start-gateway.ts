// Production entry point of the gateway: connects with Temporal's environment conventions.
import { loadSettings } from '../config/settings';
import { tracingFromEnv } from '../observability/tracing';
import { processLogger, startGateway, temporalFromEnvironment } from './runtime';

async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = processLogger(settings, 'gateway');
  // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; spans still in the batch at exit are lost.
  const tracing = tracingFromEnv(process.env, 'acp-gateway', logger);
  if (tracing)
    logger.info('tracing to OTLP', { endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT });
  const target = temporalFromEnvironment();
  const gateway = await startGateway(settings, target, logger, settings.temporalUiUrl);
  logger.info('gateway listening', { url: settings.gateway.publicUrl, address: target.address, namespace: target.namespace });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('gateway stopping: no new connections, finishing in-flight requests', {
      signal,
      deadline_seconds: settings.gatewayShutdownSeconds,
    });
    const started = Date.now();
    gateway.close().then(
      ({ forced }) => {
        logger.info('gateway stopped', { seconds: (Date.now() - started) / 1000, closed_open_connections_at_deadline: forced });
        void (tracing?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
      },
      (err: unknown) => {
        logger.error('gateway shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP re-reads the policies folder; a bad file leaves the previous policy in force. Runs already
  // started keep the policy snapshot in their input.
  process.on('SIGHUP', () => {
    const outcome = gateway.policy.reload();
    if (outcome.reloaded) logger.info('policy reloaded', { signal: 'SIGHUP', ...outcome });
    else logger.error('policy not reloaded; the previous policy stays in force', { signal: 'SIGHUP', ...outcome });
  });
}

main().catch((err: unknown) => {
  console.error(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
