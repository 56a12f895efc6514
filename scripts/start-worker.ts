// Production entry point of a worker: connects with Temporal's environment conventions, starts no server.
import { loadSettings } from '../config/settings';
import { tracingFromEnv } from '../observability/tracing';
import { installTemporalRuntime } from '../worker/worker';
import { processLogger, startWorker, temporalFromEnvironment } from './runtime';

async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = processLogger(settings, 'worker');
  // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; off (and free) otherwise.
  const tracing = tracingFromEnv(process.env, 'acp-worker', logger);
  installTemporalRuntime(logger, settings.workerMetrics.port === 0 ? undefined : settings.workerMetrics.sdkAddress);
  const target = temporalFromEnvironment();
  const { worker, close } = await startWorker(settings, target, undefined, logger);
  logger.info('worker polling', { address: target.address, namespace: target.namespace, task_queue: settings.taskQueue });
  // The SDK runtime shuts the worker down on SIGINT/SIGTERM; run() resolves once in-flight tasks finish.
  await worker.run();
  await close();
  await tracing?.shutdown();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(`worker failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
