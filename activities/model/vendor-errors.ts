import { APICallError } from 'ai';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode } from '../../contracts/errors';
import { findCause } from '../../shared/errors';
import { truncate } from './prompt';

// Vendor error bodies can be whole HTML pages from a proxy; the gist fits in this much.
const MAX_ERROR_CHARS = 500;
const CONTEXT_TOO_LONG =
  /context[_ ]length|context window|maximum context|prompt is too long|too many tokens|exceeds the maximum number of tokens|input token count|reduce the length/i;

/** What the classifier needs to know about the call that failed. */
export interface FailureContext {
  /** `provider/model`, for messages. */
  label: string;
  /** The environment variable that holds the key, named in an auth failure so the operator knows what to fix. */
  keyVariable: string | undefined;
  /** Strings never to repeat in a failure (keys): failures end up in workflow history. */
  secrets: string[];
  /** The request timeout, for the message of a slow vendor. */
  timeoutMs: number;
  /** The longest next-retry delay a Retry-After may ask for (the plan step's own timeout). */
  retryCapMs: number;
}

/** Redacts every secret from `message`. */
export function redact(message: string, secrets: string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((m, s) => m.split(s).join('[redacted]'), message);
}

/** A typed ApplicationFailure whose message never carries a key. */
export function failure(
  type: ErrorCode,
  nonRetryable: boolean,
  message: string,
  secrets: string[],
  extra: { nextRetryDelay?: number; details?: unknown[] } = {},
): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable, message: redact(message, secrets), ...extra });
}

/** The vendor's own error message from an OpenAI-, Anthropic- or Google-shaped error body, else the raw body. */
export function vendorMessage(text: string | undefined): string {
  if (!text?.trim()) return '(empty body)';
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; status?: unknown } | string };
    const error = parsed.error;
    if (typeof error === 'string') return truncate(error, MAX_ERROR_CHARS);
    if (error && typeof error.message === 'string') {
      const tags = [error.type, error.code, error.status].filter((t) => typeof t === 'string' && t).join(', ');
      return truncate(tags ? `${error.message} (${tags})` : error.message, MAX_ERROR_CHARS);
    }
  } catch {
    // Not JSON: fall through to the raw body.
  }
  return truncate(text.trim(), MAX_ERROR_CHARS);
}

/**
 * How long the vendor asked us to wait, in ms: `retry-after-ms`, `retry-after` (seconds or an HTTP
 * date), Anthropic's `anthropic-ratelimit-*-reset` (a time), OpenAI's `x-ratelimit-reset-*` ("6m0s"),
 * or Google's RetryInfo `retryDelay` ("20s") in the body. Undefined when it did not say.
 */
export function retryAfterMs(headers: Record<string, string> | undefined, body: string | undefined, now = Date.now()): number | undefined {
  const h = Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const candidates: (number | undefined)[] = [];
  if (h['retry-after-ms'] !== undefined) candidates.push(Number(h['retry-after-ms']));
  const ra = h['retry-after'];
  if (ra !== undefined) candidates.push(/^\d+(\.\d+)?$/.test(ra.trim()) ? Number(ra) * 1000 : Date.parse(ra) - now);
  if (candidates.every((c) => c === undefined || !Number.isFinite(c))) {
    for (const [k, v] of Object.entries(h)) {
      if (/^anthropic-ratelimit-.*-reset$/.test(k)) candidates.push(Date.parse(v) - now);
      if (/^x-ratelimit-reset-/.test(k)) candidates.push(goDuration(v));
    }
    const google = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(body ?? '');
    if (google) candidates.push(Number(google[1]) * 1000);
  }
  const valid = candidates.filter((c): c is number => c !== undefined && Number.isFinite(c) && c >= 0);
  return valid.length ? Math.ceil(Math.max(...valid)) : undefined;
}

/** Parses a Go-style duration as OpenAI sends it ("1s", "6m0s", "250ms"). */
function goDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0) return undefined;
  const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

function describeNetworkError(err: unknown): string {
  // Duck-typed, not instanceof: fetch's errors can come from another realm (e.g. under jest).
  const e = err as { message?: unknown; cause?: { message?: unknown } } | null;
  if (!e || typeof e.message !== 'string') return String(err);
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED, ENOTFOUND...) in a cause.
  const coded = findCause(e.cause, (c) => typeof (c as { code?: unknown }).code === 'string') as { code: string } | undefined;
  const detail = coded?.code ?? e.cause?.message;
  return typeof detail === 'string' && detail ? `${e.message}: ${detail}` : e.message;
}

/**
 * Classifies a vendor failure once, as an ApplicationFailure Temporal's retry policy understands:
 * 408/409/429/5xx and network errors retry (a Retry-After becomes the next retry's delay, capped by the
 * step timeout); 400/401/403/404/422 and context-length errors do not, and say what to fix.
 */
export function classifyVendorError(err: unknown, ctx: FailureContext, timedOut: boolean): ApplicationFailure {
  const { label, secrets } = ctx;
  if (timedOut) {
    return failure(ErrorCode.ModelUnavailable, false, `${label}: no answer within ${ctx.timeoutMs} ms`, secrets);
  }
  if (!APICallError.isInstance(err)) {
    return failure(ErrorCode.ModelUnavailable, false, `${label}: request failed: ${describeNetworkError(err)}`, secrets);
  }
  const status = err.statusCode;
  const said = vendorMessage(err.responseBody ?? err.message);
  if (status === undefined) {
    return failure(
      ErrorCode.ModelUnavailable,
      false,
      `${label}: request to ${err.url} failed: ${describeNetworkError(err.cause ?? err)}`,
      secrets,
    );
  }
  const base = `${label}: vendor answered ${status}: ${said}`;
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    const asked = retryAfterMs(err.responseHeaders, err.responseBody);
    const delay = asked === undefined ? undefined : Math.min(asked, ctx.retryCapMs);
    const wait =
      delay === undefined ? '' : ` (retrying in ${delay} ms, as the vendor asked${delay < asked! ? `, capped from ${asked} ms` : ''})`;
    return failure(ErrorCode.ModelUnavailable, false, `${base}${wait}`, secrets, delay === undefined ? {} : { nextRetryDelay: delay });
  }
  if ((status === 400 || status === 413 || status === 422) && CONTEXT_TOO_LONG.test(said)) {
    return failure(
      ErrorCode.ModelContextTooLong,
      true,
      `${base}. The prompt is longer than the model's context window: give the run fewer or smaller observations (a lower max_steps, tools that return less), or use a model with a larger window`,
      secrets,
    );
  }
  if (status === 401) {
    const fix = ctx.keyVariable
      ? `check ${ctx.keyVariable}`
      : 'the endpoint wants a key: set key_env for it in config/model-endpoints.yaml';
    return failure(ErrorCode.ModelAuthFailed, true, `${base}. The vendor refused the key: ${fix}`, secrets);
  }
  if (status === 403) {
    return failure(
      ErrorCode.ModelAuthFailed,
      true,
      `${base}. The key may not use this model: grant access or pick another model.name`,
      secrets,
    );
  }
  if (status === 404) {
    return failure(
      ErrorCode.ModelRequestInvalid,
      true,
      `${base}. No such model or URL: check model.name and the base URL (${err.url})`,
      secrets,
    );
  }
  return failure(
    ErrorCode.ModelRequestInvalid,
    true,
    `${base}. The vendor rejected the request: check the model settings (temperature, max_output_tokens) and the tool schemas`,
    secrets,
  );
}
