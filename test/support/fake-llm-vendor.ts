import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * TEST FAKE of a hosted LLM vendor. A hosted vendor cannot run in tests (no network, no keys), so
 * this is a real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol: same
 * path, request body, response and error shapes. It does not reason: answers are scripted by the
 * test (or echo the last user message by default). Never use it outside tests.
 */

/** One chat-completions request as the fake received it. */
export interface FakeLlmRequest {
  /** The parsed JSON body (model, messages, response_format...). */
  body: ChatRequestBody;
  /** The raw Authorization header, if any. */
  authorization: string | undefined;
  /** True once the client hung up before the fake answered (a timeout or an abort on its side). */
  disconnected: boolean;
}

/** The part of an OpenAI chat-completions request body the fake looks at. */
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  response_format?: { type: string };
  [key: string]: unknown;
}

/** What a scripted answer may say; every field is optional. */
export interface FakeLlmAnswer {
  /** The assistant message content; objects are sent as their JSON text. */
  content?: string | object;
  /** An HTTP status; 4xx/5xx answer with OpenAI's error shape. */
  status?: number;
  /** The error message for a failing status. */
  error?: string;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Overrides the computed token counts. */
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** Scripts the fake: called with each request body, returns the answer to send. */
export type FakeLlmResponder = (body: ChatRequestBody) => FakeLlmAnswer;

/** Handle on a running fake vendor. */
export interface FakeLlmVendor {
  /** Base URL including /v1, as OPENAI_BASE_URL takes it, e.g. http://127.0.0.1:54321/v1. */
  readonly url: string;
  /** Every well-formed chat request received, in order, including the ones answered with an error. */
  readonly requests: FakeLlmRequest[];
  /** Scripts the answers from now on (replaces the previous script). */
  respondWith(fn: FakeLlmResponder): void;
  /** Makes the next `n` requests fail with `status` (500 by default), before any script runs. */
  failNext(n: number, status?: number): void;
  /** Answers 401 to any request not carrying `Bearer <key>`. */
  requireApiKey(key: string): void;
  /** Stops the server, dropping requests still waiting on a delay. */
  close(): Promise<void>;
}

// OpenAI's `error.type` / `error.code` for the statuses tests use, so clients see the real shape.
const ERROR_KINDS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Forbidden.' },
  404: { type: 'invalid_request_error', code: 'unknown_url', message: 'Unknown request URL.' },
  408: { type: 'server_error', code: 'timeout', message: 'Request timed out.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

/** Deterministic stand-in for a tokenizer: 4 characters a token. */
function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function defaultResponder(body: ChatRequestBody): FakeLlmAnswer {
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  return { content: { type: 'final', result: { echo: lastUser?.content ?? '' }, reason: 'fake vendor default answer' } };
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message?: string): void {
  const kind = ERROR_KINDS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null, message: 'Error.' };
  sendJson(res, status, { error: { message: message ?? kind.message, type: kind.type, param: null, code: kind.code } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isChatBody(value: unknown): value is ChatRequestBody {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.model === 'string' &&
    Array.isArray(v.messages) &&
    v.messages.every(
      (m) =>
        m !== null &&
        typeof m === 'object' &&
        typeof (m as Record<string, unknown>).role === 'string' &&
        typeof (m as Record<string, unknown>).content === 'string',
    )
  );
}

/**
 * Starts the TEST FAKE of a hosted LLM vendor: a real node:http server on 127.0.0.1 (a free port)
 * implementing `POST /v1/chat/completions` with OpenAI's request, response and error shapes.
 */
export async function startFakeLlmVendor(): Promise<FakeLlmVendor> {
  const requests: FakeLlmRequest[] = [];
  let responder: FakeLlmResponder = defaultResponder;
  let failures: { remaining: number; status: number } = { remaining: 0, status: 500 };
  let requiredKey: string | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}.`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.');
    }
    if (!isChatBody(parsed)) {
      return sendError(res, 400, "'model' and 'messages' (each with 'role' and string 'content') are required.");
    }
    const record: FakeLlmRequest = { body: parsed, authorization: req.headers.authorization, disconnected: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.disconnected = true;
    });

    if (requiredKey !== undefined && req.headers.authorization !== `Bearer ${requiredKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.');
    }
    if (failures.remaining > 0) {
      failures = { ...failures, remaining: failures.remaining - 1 };
      return sendError(res, failures.status);
    }

    const answer = responder(parsed);
    if (answer.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, answer.delayMs);
        timers.add(timer);
        // Stop waiting as soon as the client gives up, like a vendor dropping a cancelled stream.
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
          resolve();
        });
      });
      if (record.disconnected || res.destroyed) return;
    }

    const status = answer.status ?? 200;
    if (status >= 400) return sendError(res, status, answer.error);

    const content =
      typeof answer.content === 'string' ? answer.content : JSON.stringify(answer.content ?? defaultResponder(parsed).content);
    const prompt_tokens = answer.usage?.prompt_tokens ?? countTokens(parsed.messages.map((m) => m.content).join(''));
    const completion_tokens = answer.usage?.completion_tokens ?? countTokens(content);
    sendJson(res, status, {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: parsed.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake vendor failed: ${String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    respondWith(fn) {
      responder = fn;
    },
    failNext(n, status = 500) {
      failures = { remaining: n, status };
    },
    requireApiKey(key) {
      requiredKey = key;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
