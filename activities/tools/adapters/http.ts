import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { request, type Dispatcher } from 'undici';
import { ErrorCode } from '../../../contracts/errors';
import { findCause } from '../../../shared/errors';
import { AdapterFailure, adapterFailure, withTimeout } from './failures';
import { checkUrl, guardedAgent, type SsrfRules } from './ssrf';
import { schemaFrom, secretHeaders, type BuildContext } from './build';
import { guarded } from '../breaker';
import type { HttpInstance } from '../config-schema';
import type { ToolContext, ToolDefinition } from '../tool';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The key a write sends as `Idempotency-Key`: the same for every attempt of one run step, unique across steps and tools. */
export function idempotencyKey(tool: string, ctx: Pick<ToolContext, 'run_id' | 'step'>): string {
  return createHash('sha256').update(`${tool}\n${ctx.run_id}\n${ctx.step}`).digest('hex').slice(0, 32);
}

/** The request an instance makes for some arguments: URL placeholders filled, other arguments in the query or body. */
export function buildRequest(instance: Pick<HttpInstance, 'url' | 'method'>, args: Record<string, unknown>): { url: URL; body?: string } {
  const used = new Set<string>();
  const filled = instance.url.replace(PLACEHOLDER, (_m, name: string) => {
    used.add(name);
    const value = args[name];
    if (value === undefined || value === null) {
      throw ApplicationFailure.create({
        type: ErrorCode.ToolInputInvalid,
        message: `argument ${name} is needed by the URL`,
        nonRetryable: true,
      });
    }
    return encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value));
  });
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    // The template was a valid URL at start-up, so only the arguments can have broken it: a retry
    // with the same arguments would break it again.
    throw ApplicationFailure.create({
      type: ErrorCode.ToolInputInvalid,
      message: `the arguments make an invalid URL: ${filled.slice(0, 200)}`,
      nonRetryable: true,
    });
  }
  const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !used.has(k)));
  if (BODY_METHODS.has(instance.method)) return { url, body: JSON.stringify(rest) };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return { url };
}

/** The port a URL reaches, the scheme's default when none is written. */
const effectivePort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/**
 * Where a redirect points, refused when it points at a host of allow_private_hosts on another port
 * than the configured URL's: listing a private host allows the one service the instance names, not
 * every port of that machine (a redirect to its :6379 or :22 is a different service).
 */
function redirectTarget(location: string, from: URL, template: URL, rules: SsrfRules): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw adapterFailure(AdapterFailure.HttpStatus, `${from.host} redirected to an invalid URL: ${location.slice(0, 200)}`);
  }
  const host = next.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (rules.allowPrivateHosts.includes(host) && effectivePort(next) !== effectivePort(template)) {
    throw adapterFailure(
      AdapterFailure.SsrfDenied,
      `${from.host} redirected to ${next.host}: a redirect to an allow_private_hosts host must keep the configured port (${effectivePort(template)})`,
      { host, port: effectivePort(next) },
    );
  }
  return next;
}

/** Reads a body up to `cap` bytes; a larger one is refused without reading the rest. */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number, url: URL): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > cap) {
      body.destroy();
      throw adapterFailure(AdapterFailure.ResponseTooLarge, `response of ${url.host} is larger than max_response_bytes (${cap})`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What every request of one `http` instance shares: its settings, SSRF rules, secrets and dispatcher. */
interface HttpTarget {
  instance: HttpInstance;
  template: URL;
  rules: SsrfRules;
  secrets: Record<string, string>;
  dispatcher: Dispatcher;
}

/** A final (non-redirect) response as the tool's result; a status or body the tool cannot use throws. */
async function resultOf(instance: HttpInstance, res: Dispatcher.ResponseData, method: string, url: URL) {
  const length = Number(res.headers['content-length'] ?? 0);
  if (length > instance.max_response_bytes) {
    await res.body.dump();
    throw adapterFailure(
      AdapterFailure.ResponseTooLarge,
      `response of ${url.host} is ${length} bytes, over max_response_bytes (${instance.max_response_bytes})`,
    );
  }
  const text = await readCapped(res.body, instance.max_response_bytes, url);
  const status = res.statusCode;
  if (status === 408 || status === 429 || status >= 500)
    throw new Error(`${method} ${url.origin}${url.pathname} answered ${status}: ${text.slice(0, 200)}`);
  if (status >= 400)
    throw adapterFailure(AdapterFailure.HttpStatus, `${method} ${url.origin}${url.pathname} answered ${status}: ${text.slice(0, 200)}`, {
      status,
    });
  if (instance.response === 'text') return { url, text, parsed: text as unknown };
  try {
    return { url, text, parsed: (text ? JSON.parse(text) : null) as unknown };
  } catch {
    throw adapterFailure(
      AdapterFailure.HttpStatus,
      `${url.origin}${url.pathname} answered ${status} with a body that is not JSON: ${text.slice(0, 100)}`,
    );
  }
}

/** Sends one call of the tool, following the redirects the instance allows (never a write's). */
async function send(target: HttpTarget, args: Record<string, unknown>, tctx: ToolContext, signal: AbortSignal) {
  const { instance, template, rules, secrets, dispatcher } = target;
  let { url, body } = buildRequest(instance, args);
  let method: string = instance.method;
  const headers: Record<string, string> = {
    accept: instance.response === 'json' ? 'application/json' : 'text/plain, */*',
    ...instance.headers,
    ...secrets,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (WRITES.has(method)) headers['idempotency-key'] = idempotencyKey(instance.name, tctx);
  for (let hop = 0; ; hop++) {
    checkUrl(url, rules);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: method, headers, body, dispatcher, signal });
    } catch (err) {
      // The lookup's denial arrives wrapped by the connector; surface it as the typed failure it is.
      throw findCause(err, (e) => (e as { type?: string } | null)?.type === AdapterFailure.SsrfDenied) ?? err;
    }
    const location = res.headers.location;
    if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string') return resultOf(instance, res, method, url);
    await res.body.dump();
    if (WRITES.has(method))
      throw adapterFailure(
        AdapterFailure.HttpStatus,
        `${method} ${url.host} answered ${res.statusCode}: redirects of writes are not followed`,
      );
    if (hop >= instance.max_redirects)
      throw adapterFailure(AdapterFailure.HttpStatus, `more than ${instance.max_redirects} redirects from ${url.host}`);
    url = redirectTarget(location, url, template, rules);
    body = undefined;
    if (res.statusCode === 303) method = 'GET';
  }
}

/** Turns one configured `http` instance into a tool. */
export function createHttpTool(instance: HttpInstance, ctx: BuildContext): ToolDefinition {
  const template = new URL(instance.url.replace(PLACEHOLDER, 'x'));
  const rules: SsrfRules = {
    allowHosts: (instance.allow_hosts ?? [template.hostname]).map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()),
    allowPrivateHosts: instance.allow_private_hosts.map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()),
  };
  const secrets = secretHeaders(ctx, 'secret_headers', instance.secret_headers);
  const dispatcher = guardedAgent(rules, ctx.resolver);
  ctx.closers.push(() => dispatcher.close());
  const target: HttpTarget = { instance, template, rules, secrets, dispatcher };

  const tool: ToolDefinition = {
    name: instance.name,
    kind: 'http',
    description: instance.description,
    input: schemaFrom(ctx, 'input_schema', instance.input_schema),
    output: schemaFrom(ctx, 'output_schema', instance.output_schema),
    side_effect: instance.side_effect,
    max_classification: instance.max_classification,
    timeout_ms: instance.timeout_ms,
    max_attempts: instance.max_attempts,
    async execute(args, tctx) {
      const what = `${instance.method} ${template.host}`;
      const { url, text, parsed } = await withTimeout(what, instance.timeout_ms, tctx.signal, (signal) =>
        send(target, args as Record<string, unknown>, tctx, signal),
      );
      return { output: parsed, evidence: [{ source: `${url.origin}${url.pathname}`, excerpt: text.slice(0, 500) }] };
    },
  };
  return guarded(tool, ctx.guards, instance, (args) => {
    try {
      return buildRequest(instance, args as Record<string, unknown>).url.host;
    } catch {
      return template.host;
    }
  });
}
