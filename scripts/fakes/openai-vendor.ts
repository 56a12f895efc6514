import { randomUUID } from 'node:crypto';
import { contentText, startFakeVendor, type FakeAnswer, type FakeRequest, type FakeVendor, type Protocol } from './http-vendor';

/*
 * TEST FAKE of a hosted LLM vendor. A hosted vendor cannot run in tests (no network, no keys), so
 * this is a real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol: same
 * path, request body, response (text or native tool calls) and error shapes. It does not reason:
 * answers are scripted by the caller (or echo the last user message by default). It lives in
 * scripts/fakes/, not test/, because the drills run it too (the vendor-outage drill stops it and starts
 * it again on its port); never use it outside tests
 * and drills.
 */

/** A tool call as an assistant message carries it. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One message of a chat-completions request: text, an assistant's tool calls, or a tool's result. */
export interface ChatMessage {
  role: string;
  /** Null on an assistant message that only calls tools. */
  content: string | null;
  tool_calls?: ChatToolCall[];
  /** On a `tool` message: the id of the assistant's call it answers. */
  tool_call_id?: string;
}

/** The part of an OpenAI chat-completions request body the fake looks at. */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  response_format?: { type: string; json_schema?: { name: string; schema: Record<string, unknown>; strict?: boolean } };
  tools?: { type: 'function'; function: { name: string; description?: string; parameters: Record<string, unknown> } }[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  [key: string]: unknown;
}

/** Every message's text, tool results and the arguments of tool calls included, one per line: what scripts search. */
export function messageText(body: ChatRequestBody): string {
  return body.messages.map((m) => [m.content ?? '', ...(m.tool_calls ?? []).map((c) => c.function.arguments)].join('\n')).join('\n');
}

/** The tool results the request sends back, each with the name of the call it answers, oldest first. */
export function toolResultsOf(body: ChatRequestBody): { tool: string; callId: string; content: string }[] {
  const names = new Map(body.messages.flatMap((m) => (m.tool_calls ?? []).map((c) => [c.id, c.function.name] as const)));
  return body.messages
    .filter((m) => m.role === 'tool')
    .map((m) => ({ tool: names.get(m.tool_call_id ?? '') ?? '', callId: m.tool_call_id ?? '', content: m.content ?? '' }));
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

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function isToolCall(v: unknown): v is ChatToolCall {
  return (
    isRecord(v) &&
    typeof v.id === 'string' &&
    v.type === 'function' &&
    isRecord(v.function) &&
    typeof v.function.name === 'string' &&
    typeof v.function.arguments === 'string'
  );
}

/** What is wrong with a request body, in the words OpenAI uses, or undefined when it is well-formed. */
function bodyProblem(value: unknown): string | undefined {
  if (!isRecord(value) || typeof value.model !== 'string' || !Array.isArray(value.messages)) return "'model' and 'messages' are required.";
  const calls = new Set<string>();
  for (const [i, m] of value.messages.entries()) {
    if (!isRecord(m) || typeof m.role !== 'string') return `messages[${i}]: 'role' is required.`;
    const toolCalls = m.tool_calls;
    if (toolCalls !== undefined && (m.role !== 'assistant' || !Array.isArray(toolCalls) || !toolCalls.every(isToolCall))) {
      return `messages[${i}].tool_calls: only an assistant message has tool calls, each with an id and a function name and arguments.`;
    }
    for (const c of toolCalls ?? []) calls.add(c.id);
    const textless = m.content === null && m.role === 'assistant' && Array.isArray(toolCalls) && toolCalls.length > 0;
    if (typeof m.content !== 'string' && !textless) return `messages[${i}].content: a string is required.`;
    // As OpenAI: a tool result must answer a call an earlier assistant message made.
    if (m.role === 'tool' && (typeof m.tool_call_id !== 'string' || !calls.has(m.tool_call_id))) {
      return `messages[${i}]: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.`;
    }
  }
  return undefined;
}

const openaiProtocol: Protocol<ChatRequestBody> = {
  matches: (method, path) => method === 'POST' && path === '/v1/chat/completions',
  parse: (json) => bodyProblem(json) ?? (json as ChatRequestBody),
  key: (headers) => headers.authorization?.replace(/^Bearer /, ''),
  promptText: (body) => messageText(body),
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
