import { randomUUID } from 'node:crypto';
import { contentText, startFakeVendor, type FakeAnswer, type FakeRequest, type FakeVendor, type Protocol } from './fake-http-vendor';

/*
 * TEST FAKE of a hosted LLM vendor. A hosted vendor cannot run in tests (no network, no keys), so
 * this is a real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol: same
 * path, request body, response (text or native tool calls) and error shapes. It does not reason:
 * answers are scripted by the caller (or echo the last user message by default). It lives with the
 * drills (the vendor-outage drill stops it and starts it again on its port); never use it outside tests
 * and drills.
 */

/** The part of an OpenAI chat-completions request body the fake looks at. */
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  response_format?: { type: string; json_schema?: { name: string; schema: Record<string, unknown>; strict?: boolean } };
  tools?: { type: 'function'; function: { name: string; description?: string; parameters: Record<string, unknown> } }[];
  tool_choice?: unknown;
  [key: string]: unknown;
}

/** One chat-completions request as the fake received it. */
export type FakeLlmRequest = FakeRequest<ChatRequestBody>;
/** What a scripted answer may say; every field is optional. */
export type FakeLlmAnswer = FakeAnswer;
/** Scripts the fake: called with each request body, returns the answer to send. */
export type FakeLlmResponder = (body: ChatRequestBody) => FakeLlmAnswer;
/** Handle on a running fake vendor; `url` includes /v1, as OPENAI_BASE_URL takes it. */
export type FakeLlmVendor = FakeVendor<ChatRequestBody>;

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

const openaiProtocol: Protocol<ChatRequestBody> = {
  matches: (method, path) => method === 'POST' && path === '/v1/chat/completions',
  parse: (json) => (isChatBody(json) ? json : "'model' and 'messages' (each with 'role' and string 'content') are required."),
  key: (headers) => headers.authorization?.replace(/^Bearer /, ''),
  promptText: (body) => body.messages.map((m) => m.content).join(''),
  defaultAnswer(body) {
    const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
    return { content: { type: 'final', result: { echo: lastUser?.content ?? '' }, reason: 'fake vendor default answer' } };
  },
  success(body, answer, tokens) {
    const calls = answer.toolCalls ?? [];
    const content = contentText(answer) ?? (calls.length ? null : JSON.stringify(openaiProtocol.defaultAnswer(body).content));
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content,
            ...(calls.length
              ? {
                  tool_calls: calls.map((c, i) => ({
                    id: `call_${i}_${randomUUID().slice(0, 8)}`,
                    type: 'function',
                    function: { name: c.name, arguments: typeof c.args === 'string' ? c.args : JSON.stringify(c.args) },
                  })),
                }
              : {}),
          },
          finish_reason: answer.finishReason ?? (calls.length ? 'tool_calls' : 'stop'),
        },
      ],
      usage: { prompt_tokens: tokens.prompt, completion_tokens: tokens.completion, total_tokens: tokens.prompt + tokens.completion },
    };
  },
  error(status, message, code) {
    const kind = ERROR_KINDS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null, message: 'Error.' };
    return { error: { message: message ?? kind.message, type: kind.type, param: null, code: code ?? kind.code } };
  },
};

/**
 * Starts the TEST FAKE of a hosted LLM vendor: a real node:http server on 127.0.0.1 (a free port, or
 * `port`) implementing `POST /v1/chat/completions` with OpenAI's request, response and error shapes.
 */
export async function startFakeLlmVendor(port = 0): Promise<FakeLlmVendor> {
  return startFakeVendor(openaiProtocol, '/v1', port);
}
