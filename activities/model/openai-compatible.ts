import { ApplicationFailure } from '@temporalio/common';
import type { AgentDefinition } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { PlanAction, PlanRequest, PlanResult, Usage } from '../../contracts/run';
import { estimateTokens, type ModelProvider } from './provider';

/** Settings of an OpenAI-compatible vendor; the worker builds them from its environment. */
export interface OpenAICompatibleOptions {
  /** Vendor base URL including the API version, as OpenAI's SDKs take it (OPENAI_BASE_URL), e.g. https://api.openai.com/v1. */
  baseUrl: string;
  /** Sent as a bearer token; local vendors (vLLM, Ollama) often need none. */
  apiKey?: string;
  /** Per-request limit in ms; defaults below the plan activity's 2-minute start-to-close timeout. */
  timeoutMs?: number;
  /** Injectable for tests and proxies; defaults to the global fetch. */
  fetchImpl?: typeof fetch;
}

// Under the plan activity's 2-minute startToCloseTimeout, so a slow vendor fails as a retryable
// ModelUnavailable with a clear message instead of an opaque activity timeout.
const DEFAULT_TIMEOUT_MS = 90_000;
// Keeps one verbose tool output from blowing the context window (and the token budget).
const MAX_OBSERVATION_CHARS = 8_000;
// Vendor error bodies can be whole HTML pages from a proxy; the gist fits in this much.
const MAX_ERROR_CHARS = 500;

/** The subset of a chat.completion response this provider reads. */
interface ChatCompletion {
  choices?: { message?: { content?: string | null; refusal?: string | null }; finish_reason?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… [truncated, ${text.length} characters in all]` : text;
}

function json(value: unknown): string {
  // JSON.stringify(undefined) is undefined, which would print as "undefined" anyway; say so explicitly.
  return JSON.stringify(value) ?? 'null';
}

function systemPrompt(def: AgentDefinition): string {
  const tools = def.tools.length > 0 ? def.tools.join(', ') : '(none: answer with a final action)';
  return [
    def.instructions,
    '',
    'You decide the next step of an agent run. You may call only these tools, one at a time:',
    tools,
    '',
    'Answer with exactly one JSON object and nothing else, in one of these two shapes, with no other keys:',
    '{"type":"tool_call","tool":"<one of the tools above>","args":{<the tool arguments>},"reason":"<why this call>"}',
    '{"type":"final","result":<your answer as any JSON value>,"reason":"<why you are done>"}',
    'Answer "final" once the observations are enough to complete the task.',
  ].join('\n');
}

function userPrompt(req: PlanRequest): string {
  const parts = [`Task:\n${req.task}`, `Context (JSON):\n${json(req.context)}`];
  if (req.observations.length === 0) {
    parts.push('Observations: none yet.');
  } else {
    parts.push(`Observations (${req.observations.length}), oldest first:`);
    for (const o of req.observations) {
      parts.push(
        [
          `Step ${o.step}: tool ${o.tool}`,
          `args (JSON): ${truncate(json(o.args), MAX_OBSERVATION_CHARS)}`,
          `output (JSON): ${truncate(json(o.output), MAX_OBSERVATION_CHARS)}`,
        ].join('\n'),
      );
    }
  }
  return parts.join('\n\n');
}

function costUsd(def: AgentDefinition, input: number, output: number): number {
  const pricing = def.model.pricing;
  if (!pricing) return 0;
  return (input / 1000) * pricing.input_per_1k + (output / 1000) * pricing.output_per_1k;
}

/**
 * A model provider for any vendor speaking the OpenAI chat-completions protocol (OpenAI, Azure-style
 * gateways, vLLM, Ollama, LiteLLM...). It asks for one JSON plan action per call; the plan activity
 * validates that action. Vendor failures become ApplicationFailures typed so Temporal retries only
 * what a retry can fix (429, 5xx, network, timeouts).
 */
export class OpenAICompatibleProvider implements ModelProvider {
  readonly name = 'openai';
  private readonly endpoint: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: OpenAICompatibleOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.apiKey = options.apiKey || undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  /** Asks the vendor for the next action of the run in `req`; `signal` is the activity's cancellation. */
  async plan(req: PlanRequest, signal?: AbortSignal): Promise<PlanResult> {
    const def = req.agent.definition;
    const model = `openai/${def.model.name}`;
    const body = {
      model: def.model.name,
      ...(def.model.temperature !== undefined ? { temperature: def.model.temperature } : {}),
      ...(def.model.max_output_tokens !== undefined ? { max_tokens: def.model.max_output_tokens } : {}),
      messages: [
        { role: 'system', content: systemPrompt(def) },
        { role: 'user', content: userPrompt(req) },
      ],
      response_format: { type: 'json_object' },
    };
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;

    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

    let status: number;
    let statusText: string;
    let text: string;
    try {
      // The body is read under the same signal, so a vendor that stalls mid-body also times out.
      const res = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
      status = res.status;
      statusText = res.statusText;
      text = await res.text();
    } catch (err) {
      // A cancelled activity must surface the cancellation itself, not a retryable vendor error.
      if (signal?.aborted) throw signal.reason ?? err;
      if (timeout.aborted) {
        throw this.failure(ErrorCode.ModelUnavailable, false, `${model}: no answer from ${this.endpoint} within ${this.timeoutMs} ms`);
      }
      throw this.failure(ErrorCode.ModelUnavailable, false, `${model}: request to ${this.endpoint} failed: ${describeNetworkError(err)}`);
    }

    if (status < 200 || status >= 300) throw this.httpFailure(model, status, statusText, text);

    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch {
      // A 2xx that is not JSON is usually a proxy or a cut connection, not the model: worth a retry.
      throw this.failure(
        ErrorCode.ModelUnavailable,
        false,
        `${model}: vendor answered ${status} with a body that is not JSON: ${truncate(text, MAX_ERROR_CHARS)}`,
      );
    }

    const choice = completion.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== 'string') {
      const why = choice?.message?.refusal ? `refused: ${choice.message.refusal}` : `finish_reason ${choice?.finish_reason ?? 'missing'}`;
      throw this.failure(ErrorCode.InvalidModelOutput, true, `${model} returned no message content (${why})`);
    }
    let action: unknown;
    try {
      action = JSON.parse(content);
    } catch {
      const cut = choice?.finish_reason === 'length' ? ' (cut off: finish_reason length)' : '';
      throw this.failure(
        ErrorCode.InvalidModelOutput,
        true,
        `${model} answered with content that is not JSON${cut}: ${truncate(content, MAX_ERROR_CHARS)}`,
      );
    }

    // Vendors that omit usage would otherwise make token and cost budgets blind; estimate instead.
    const input_tokens = completion.usage?.prompt_tokens ?? estimateTokens(JSON.stringify(body.messages));
    const output_tokens = completion.usage?.completion_tokens ?? estimateTokens(content);
    const usage: Usage = { input_tokens, output_tokens, cost_usd: costUsd(def, input_tokens, output_tokens) };
    // Not validated here on purpose: the plan activity validates every provider's action the same way.
    return { action: action as PlanAction, model, usage };
  }

  private httpFailure(model: string, status: number, statusText: string, text: string): ApplicationFailure {
    const message = `${model}: vendor answered ${status}${statusText ? ` ${statusText}` : ''}: ${vendorMessage(text)}`;
    if (status === 401 || status === 403) return this.failure(ErrorCode.ModelAuthFailed, true, message);
    if (status === 408 || status === 429 || status >= 500) return this.failure(ErrorCode.ModelUnavailable, false, message);
    return this.failure(ErrorCode.ModelRequestInvalid, true, message);
  }

  private failure(type: ErrorCode, nonRetryable: boolean, message: string): ApplicationFailure {
    // Vendors echo (parts of) a rejected key in their messages; failures end up in workflow history.
    const safe = this.apiKey ? message.split(this.apiKey).join('[redacted]') : message;
    return ApplicationFailure.create({ type, nonRetryable, message: safe });
  }
}

/** The vendor's own error message from an OpenAI-shaped error body, else the start of the raw body. */
function vendorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } | string };
    const error = parsed.error;
    if (typeof error === 'string') return truncate(error, MAX_ERROR_CHARS);
    if (error && typeof error.message === 'string') {
      const tags = [error.type, error.code].filter((t) => typeof t === 'string' && t).join(', ');
      return truncate(tags ? `${error.message} (${tags})` : error.message, MAX_ERROR_CHARS);
    }
  } catch {
    // Not JSON: fall through to the raw body.
  }
  return truncate(text.trim() || '(empty body)', MAX_ERROR_CHARS);
}

function describeNetworkError(err: unknown): string {
  // Duck-typed, not instanceof: fetch's errors can come from another realm (e.g. under jest).
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  if (!e || typeof e.message !== 'string') return String(err);
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED, ENOTFOUND...) in the cause.
  const detail = e.cause?.code ?? e.cause?.message;
  return typeof detail === 'string' && detail ? `${e.message}: ${detail}` : e.message;
}
