// Production entry point of the gateway: connects with Temporal's environment conventions.
import { loadSettings } from '../config/settings';
import { processLogger, startGateway, temporalFromEnvironment } from './runtime';

async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = processLogger(settings, 'gateway');
  const target = temporalFromEnvironment();
  const gateway = await startGateway(settings, target, logger, settings.temporalUiUrl);
  logger.info('gateway listening', { url: settings.gateway.publicUrl, address: target.address, namespace: target.namespace });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('gateway stopping: no new connections, finishing in-flight requests', { signal });
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('gateway shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
