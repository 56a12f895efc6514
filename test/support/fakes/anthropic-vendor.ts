import { randomUUID } from 'node:crypto';
import { contentText, startFakeVendor, type FakeVendor, type Protocol } from '../../../scripts/fakes/http-vendor';

/*
 * TEST FAKE of Anthropic's Messages API: a real HTTP server on 127.0.0.1 speaking `POST /v1/messages`
 * (x-api-key, content blocks with tool_use, Anthropic's error shape). Answers are scripted by the test.
 */

type Block = { type: string; text?: string; [key: string]: unknown };

/** The part of an Anthropic messages request the fake looks at. */
export interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string | Block[];
  messages: { role: 'user' | 'assistant'; content: string | Block[] }[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  tool_choice?: { type: string; disable_parallel_tool_use?: boolean };
  [key: string]: unknown;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const text = (c: string | Block[] | undefined) =>
  typeof c === 'string' ? c : (c ?? []).map((b) => (typeof b.text === 'string' ? b.text : JSON.stringify(b))).join('');

const anthropicProtocol: Protocol<MessagesBody> = {
  matches: (method, path) => method === 'POST' && path === '/v1/messages',
  parse(json) {
    const b = json as MessagesBody;
    if (!b || typeof b.model !== 'string' || !Array.isArray(b.messages)) return 'model: Field required; messages: Field required';
    if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
    return b;
  },
  key: (headers) => (typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined),
  promptText: (body) => text(body.system) + body.messages.map((m) => text(m.content)).join(''),
  defaultAnswer: () => ({
    toolCalls: [{ name: 'final_answer', args: { result: { echo: 'fake' }, reason: 'fake vendor default answer' } }],
  }),
  success(body, answer, tokens) {
    const said = contentText(answer);
    const calls = answer.toolCalls ?? [];
    return {
      id: `msg_${randomUUID()}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [
        ...(said !== undefined ? [{ type: 'text', text: said }] : []),
        ...calls.map((c, i) => ({ type: 'tool_use', id: `toolu_${i}_${randomUUID().slice(0, 8)}`, name: c.name, input: c.args })),
      ],
      stop_reason: answer.finishReason ?? (calls.length ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      usage: { input_tokens: tokens.prompt, output_tokens: tokens.completion },
    };
  },
  error: (status, message) => ({
    type: 'error',
    error: { type: ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message: message ?? `Error ${status}` },
  }),
};

/** Starts the TEST FAKE of Anthropic's Messages API; `url` ends in /v1, as the SDK's baseURL takes it. */
export async function startFakeAnthropicVendor(): Promise<FakeVendor<MessagesBody>> {
  return startFakeVendor(anthropicProtocol, '/v1');
}
