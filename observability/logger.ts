import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import winston from 'winston';
import { redact } from './redact';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  format: 'json' | 'pretty';
  /** Added to every line, e.g. { service: 'gateway' }. */
  defaults?: Record<string, unknown>;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  stream?: NodeJS.WritableStream;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

const pretty = winston.format.printf(({ level, message, timestamp, service, run_id, ...rest }) => {
  const extras = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const run = run_id ? ` run_id=${str(run_id)}` : '';
  return `${str(timestamp).slice(11, 23)} ${str(service).padEnd(8)} ${level.padEnd(5)} ${str(message)}${run}${extras ? ' ' + extras : ''}`;
});

/** Duck-typed, not instanceof: errors can come from another realm (a jest sandbox, a vm context). */
function isError(v: unknown): v is Error & Record<string, unknown> {
  return (
    v instanceof Error ||
    (v !== null && typeof v === 'object' && typeof (v as Error).message === 'string' && typeof (v as Error).stack === 'string')
  );
}

/**
 * An error as the fields a reader needs: name, message, and the failure's `type` and `nonRetryable`
 * (Temporal's ApplicationFailure) and its cause. JSON.stringify of an Error keeps only its own
 * enumerable fields, which left a failed activity's line with `"error":{"name":"ApplicationFailure"}`.
 */
export function errorFields(err: Error & Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (typeof err.type === 'string') out.type = err.type;
  if (typeof err.nonRetryable === 'boolean') out.nonRetryable = err.nonRetryable;
  if (typeof err.code === 'string' || typeof err.code === 'number') out.code = err.code;
  if (isError(err.cause) && depth < 4) out.cause = errorFields(err.cause, depth + 1);
  return out;
}

/** Turns every Error among a line's fields into its fields (errorFields), so redaction and JSON see its message. */
const errorsAsFields = winston.format((info) => {
  for (const key of Object.keys(info)) if (key !== 'level' && isError(info[key])) info[key] = errorFields(info[key]);
  return info;
});

/** Passes every field of a line through the one redaction function (the level and symbols stay). */
const redacted = winston.format((info) => {
  for (const key of Object.keys(info)) if (key !== 'level') info[key] = redact(info[key]);
  return info;
});

/** Adds the active span's trace and span ids to a line that has none (a no-op while tracing is off). */
const traced = winston.format((info) => {
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span) && info.trace_id === undefined) {
    info.trace_id = span.traceId;
    info.span_id = span.spanId;
  }
  return info;
});

/** The one logger of a process: JSON lines (or a readable line for a terminal in dev). */
export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level,
    defaultMeta: options.defaults,
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      traced(),
      errorsAsFields(),
      redacted(),
      winston.format.timestamp(),
      options.format === 'pretty' ? pretty : winston.format.json(),
    ),
    transports: [options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console()],
  });
}

const LEVELS: Record<LogLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Renames the SDK's metadata to the platform's: a run's id is its workflow id, so workflow and
 * activity lines get `run_id`; Temporal's own run id (one per continue-as-new) is `temporal_run_id`.
 */
export function toPlatformMeta(meta: LogMetadata = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'workflowId') out.run_id ??= value;
    else if (key === 'runId' || key === 'workflowRunId') out.temporal_run_id = value;
    else if (key === 'taskToken') continue;
    else out[key] = value;
  }
  return out;
}

/** Adapts the winston logger to the Temporal SDK's Logger, so SDK, workflow and activity logs share it. */
export class TemporalLoggerAdapter implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.logger.log(LEVELS[level], message, { source: 'temporal', ...toPlatformMeta(meta) });
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
