import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * TEST FAKE core shared by the fake LLM vendors (openai-vendor.ts here: OpenAI chat completions, and in
 * test/support/fakes/ anthropic-vendor.ts: Anthropic messages, google-vendor.ts: Gemini
 * generateContent). Each is a real HTTP server on 127.0.0.1 speaking its vendor's protocol; this file
 * holds the part they share: scripted answers, failures, delays, a required key, and a log of what
 * arrived and when. It lives in scripts/fakes/ (not test/) because the vendor-outage drill starts it outside jest;
 * never use it outside tests and drills. It does not reason: answers are scripted by the caller.
 */

/** What a scripted answer may say; every field is optional. */
export interface FakeAnswer {
  /** The assistant's text; objects are sent as their JSON text. */
  content?: string | object;
  /** Native tool calls (function calls) the model makes, in order. */
  toolCalls?: { name: string; args: unknown }[];
  /** An HTTP status; 4xx/5xx answer with the vendor's error shape. */
  status?: number;
  /** The error message for a failing status. */
  error?: string;
  /** The vendor's error code (e.g. context_length_exceeded). */
  errorCode?: string;
  /** Extra response headers (Retry-After...). */
  headers?: Record<string, string>;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Overrides the computed token counts. */
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  /** Overrides the vendor's finish/stop reason. */
  finishReason?: string;
}

/** One request as a fake received it. */
export interface FakeRequest<B> {
  body: B;
  headers: IncomingHttpHeaders;
  /** The raw Authorization header, if any. */
  authorization: string | undefined;
  /** Date.now() when it arrived: tests measure retry delays with it. */
  at: number;
  /** True once the client hung up before the fake answered (a timeout or an abort on its side). */
  disconnected: boolean;
}

/** How one vendor protocol looks on the wire. */
export interface Protocol<B> {
  matches(method: string | undefined, url: string): boolean;
  /** The parsed body (`path` is the request path without query), or a message for a 400. */
  parse(json: unknown, path: string): B | string;
  /** The key the request carries (bearer, x-api-key, x-goog-api-key). */
  key(headers: IncomingHttpHeaders, url: string): string | undefined;
  /** The text the prompt token count is computed from. */
  promptText(body: B): string;
  success(body: B, answer: FakeAnswer, tokens: { prompt: number; completion: number }): unknown;
  error(status: number, message: string | undefined, code: string | undefined): unknown;
  /** The answer when the test scripted none. */
  defaultAnswer(body: B): FakeAnswer;
}

/** Handle on a running fake vendor. */
export interface FakeVendor<B> {
  /** Base URL as the vendor's SDK takes it (with its API version path). */
  readonly url: string;
  /** Every well-formed request received, in order, including the ones answered with an error. */
  readonly requests: FakeRequest<B>[];
  /** Scripts the answers from now on (replaces the previous script). */
  respondWith(fn: (body: B) => FakeAnswer): void;
  /** Makes the next `n` requests fail with `status` (500 by default), before any script runs. */
  failNext(n: number, status?: number, headers?: Record<string, string>): void;
  /** Answers 401 to any request not carrying this key. */
  requireApiKey(key: string): void;
  /** Stops the server, dropping requests still waiting on a delay (marked `disconnected` when it resolves). */
  close(): Promise<void>;
}

/** Deterministic stand-in for a tokenizer: 4 characters a token. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of an answer's content. */
export function contentText(answer: FakeAnswer): string | undefined {
  if (answer.content === undefined) return undefined;
  return typeof answer.content === 'string' ? answer.content : JSON.stringify(answer.content);
}

/** Waits `ms` before an answer, or less when the client gives up, like a vendor dropping a cancelled stream. */
function delayAnswer(ms: number, res: ServerResponse, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
      resolve();
    });
  });
}

/** Sends the scripted answer: the vendor's error body for a 4xx/5xx, else its success body with token counts. */
function sendAnswer<B>(protocol: Protocol<B>, res: ServerResponse, body: B, answer: FakeAnswer): void {
  const status = answer.status ?? 200;
  if (status >= 400) return sendJson(res, status, protocol.error(status, answer.error, answer.errorCode), answer.headers);
  const completionText = (contentText(answer) ?? '') + JSON.stringify(answer.toolCalls ?? []);
  const tokens = {
    prompt: answer.usage?.prompt_tokens ?? countTokens(protocol.promptText(body)),
    completion: answer.usage?.completion_tokens ?? countTokens(completionText),
  };
  sendJson(res, 200, protocol.success(body, answer, tokens), answer.headers);
}

/** Listens on 127.0.0.1:`port` (0: a free one) and resolves with the port it got. */
async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Starts a fake vendor speaking `protocol` on 127.0.0.1 (a free port, or `port`: a vendor back after an
 * outage); `basePath` is appended to the URL.
 */
export async function startFakeVendor<B>(protocol: Protocol<B>, basePath: string, port = 0): Promise<FakeVendor<B>> {
  const requests: FakeRequest<B>[] = [];
  let responder = (body: B) => protocol.defaultAnswer(body);
  let failures: { remaining: number; status: number; headers: Record<string, string> } = { remaining: 0, status: 500, headers: {} };
  let requiredKey: string | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    const url = req.url ?? '';
    if (!protocol.matches(req.method, url.split('?')[0]!)) {
      return sendJson(res, 404, protocol.error(404, `Unknown request URL: ${req.method} ${url}.`, undefined));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return sendJson(res, 400, protocol.error(400, 'We could not parse the JSON body of your request.', undefined));
    }
    const body = protocol.parse(json, url.split('?')[0]!);
    if (typeof body === 'string') return sendJson(res, 400, protocol.error(400, body, undefined));
    const record: FakeRequest<B> = {
      body,
      headers: req.headers,
      authorization: req.headers.authorization,
      at: Date.now(),
      disconnected: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.disconnected = true;
    });

    if (requiredKey !== undefined && protocol.key(req.headers, url) !== requiredKey) {
      return sendJson(res, 401, protocol.error(401, 'Incorrect API key provided.', 'invalid_api_key'));
    }
    if (failures.remaining > 0) {
      failures = { ...failures, remaining: failures.remaining - 1 };
      return sendJson(res, failures.status, protocol.error(failures.status, undefined, undefined), failures.headers);
    }

    const answer = responder(body);
    if (answer.delayMs) {
      await delayAnswer(answer.delayMs, res, timers);
      if (record.disconnected || res.destroyed) return;
    }
    sendAnswer(protocol, res, body, answer);
  };

  const open = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    open.add(closed);
    void closed.then(() => open.delete(closed));
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, protocol.error(500, `fake vendor failed: ${String(err)}`, undefined));
      else res.destroy();
    });
  });
  const listening = await listen(server, port);

  return {
    url: `http://127.0.0.1:${listening}${basePath}`,
    requests,
    respondWith(fn) {
      responder = fn;
    },
    failNext(n, status = 500, headers = {}) {
      failures = { remaining: n, status, headers };
    },
    requireApiKey(key) {
      requiredKey = key;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      // The cut responses emit 'close' after the server's own callback: once they have, `disconnected` says which were cut.
      await Promise.all(open);
    },
  };
}
