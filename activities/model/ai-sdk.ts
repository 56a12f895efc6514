import {
  generateText,
  jsonSchema,
  NoObjectGeneratedError,
  Output,
  ToolChoiceViolationError,
  type LanguageModelUsage,
  type ModelMessage,
} from 'ai';
import { ApplicationFailure } from '@temporalio/common';
import { priceUsd } from '../../shared/cost';
import { describeIssues } from '../../shared/errors';
import type { ModelCall, ModelSettings, ProviderKind } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import { PlanActionSchema, type PlanAction, type PlanRequest, type PlanResult, type Usage } from '../../contracts/run';
import { withCassettes, type CassetteMode, type VendorModel } from './cassettes';
import { answerSchema, FINAL_ANSWER_TOOL, messages, platformToolName, systemPrompt, toolSet, truncate, type AnswerMode } from './prompt';
import { estimateTokens, type ModelProvider, type PlanCallInfo } from './provider';
import { classifyVendorError, failure } from './vendor-errors';

// Under the plan activity's 2-minute startToCloseTimeout, so a slow vendor fails as a retryable
// ModelUnavailable with a clear message instead of an opaque activity timeout.
const DEFAULT_TIMEOUT_MS = 90_000;
const MAX_ECHO_CHARS = 500;

/** Recording or replaying an agent's model exchanges; `dirFor` names the folder of an agent's cassettes. */
export interface CassetteSettings {
  mode: CassetteMode;
  dirFor(agent: string): string;
}

/** What a vendor kind contributes; the rest (prompt, parsing, repair, usage, errors) is shared. */
export interface VendorOptions {
  kind: Exclude<ProviderKind, 'scripted'>;
  /** The AI SDK model for an agent's model settings. */
  model(settings: ModelSettings): VendorModel;
  /** Whether the answer schema goes in the vendor's structured-output mode (else as a final_answer tool). */
  structuredOutputs(settings: ModelSettings, hasTools: boolean): boolean;
  /** The environment variable holding the key for these settings, named when the vendor refuses it. */
  keyVariable(settings: ModelSettings): string | undefined;
  /** Keys this provider holds: redacted from every failure and cassette. */
  secrets: string[];
  /** Vendor-specific request options (one tool call per turn, no strict schemas) for these settings. */
  providerOptions?(settings: ModelSettings, hasTools: boolean): Record<string, Record<string, boolean>>;
  /** Sent when the agent sets no max_output_tokens, for vendors that require a limit. */
  defaultMaxOutputTokens?: number;
  /** Per-request limit in ms (default 90 s, under the plan activity's timeout). */
  timeoutMs?: number;
  cassettes?: CassetteSettings;
}

/** One vendor answer, reduced to what the platform reads. */
interface Answer {
  text: string;
  toolCalls: { toolName: string; input: unknown }[];
  usage: LanguageModelUsage | undefined;
  finishReason: string;
  modelId: string | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The plan action a tool call stands for, or what is wrong with its arguments. */
function fromCall(toolName: string, input: unknown, text: string): { candidate: unknown } | { problem: string } {
  if (!isRecord(input)) return { problem: `the arguments of ${toolName} are not a JSON object` };
  if (toolName !== FINAL_ANSWER_TOOL) return { candidate: { type: 'tool_call', tool: toolName, args: input, reason: text.trim() } };
  if (!('result' in input)) return { problem: `${FINAL_ANSWER_TOOL} needs a "result"` };
  return { candidate: { type: 'final', result: input.result, reason: typeof input.reason === 'string' ? input.reason : '' } };
}

/**
 * A plan in a text answer, in the shapes models write when they do not (or cannot) call a tool: a plan
 * action; the answer schema alone (`{ result, reason }`: the final_answer arguments, or the structured
 * output without its `type`); or a tool call spelled out as `{ name, arguments | parameters }`.
 */
function fromText(json: unknown, platformName: (vendorName: string) => string): { candidate: unknown } | { problem: string } {
  if (!isRecord(json) || json.type !== undefined) return { candidate: json };
  if ('result' in json) return fromCall(FINAL_ANSWER_TOOL, json, '');
  const args = json.arguments ?? json.parameters;
  if (typeof json.name === 'string' && isRecord(args)) return fromCall(platformName(json.name), args, '');
  return { candidate: json };
}

/**
 * Reads the model's answer as a plan action, or says what is wrong with it (for the repair turn).
 * `platformName` maps a tool's vendor name back (see vendorToolName) for calls spelled out in text.
 */
export function toAction(
  answer: Answer,
  platformName: (vendorName: string) => string = (n) => n,
): { action: PlanAction } | { problem: string; echo: string } {
  let read: { candidate: unknown } | { problem: string };
  let echo: string;
  const call = answer.toolCalls[0];
  if (call) {
    echo = `${call.toolName}(${JSON.stringify(call.input) ?? ''})`;
    read = fromCall(call.toolName, call.input, answer.text);
  } else {
    echo = answer.text;
    // Models like to fence JSON in markdown even when asked not to; the fence is not the answer.
    const text = answer.text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
    if (!text) return { problem: `the answer was empty (finish reason ${answer.finishReason})`, echo };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      const cut = answer.finishReason === 'length' ? ' (cut off: finish reason length)' : '';
      return { problem: `the answer is not JSON${cut}: ${truncate(text, MAX_ECHO_CHARS)}`, echo };
    }
    read = fromText(json, platformName);
  }
  if ('problem' in read) return { problem: read.problem, echo };
  const parsed = PlanActionSchema.safeParse(read.candidate);
  if (!parsed.success) return { problem: `the answer is not a valid action: ${describeIssues(parsed.error)}`, echo };
  return { action: parsed.data };
}

/**
 * A model vendor behind the platform's one provider interface, on the Vercel AI SDK. The model gets
 * the agent's instructions, the task, the observations, the tool contracts as native tool definitions
 * and the answer schema (structured output or a final_answer tool). The SDK does not retry
 * (maxRetries 0): vendor errors are classified once and Temporal retries what a retry can fix. An
 * answer that is not JSON or not a valid action goes back once as a repair turn; every answered
 * request's tokens are counted, also when the answer is finally rejected.
 */
export class AiSdkProvider implements ModelProvider {
  readonly name: ProviderKind;
  private readonly timeoutMs: number;

  constructor(private readonly options: VendorOptions) {
    this.name = options.kind;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Asks the vendor for the next action of the run in `req`; `signal` is the activity's cancellation. */
  async plan(req: PlanRequest, signal?: AbortSignal, info: PlanCallInfo = { attempt: 1, retryCapMs: 120_000 }): Promise<PlanResult> {
    const def = req.agent.definition;
    const settings = def.model;
    const label = `${this.name}/${settings.name}`;
    const mode: AnswerMode = this.options.structuredOutputs(settings, def.tools.length > 0) ? 'structured_output' : 'final_answer_tool';
    const answer = answerSchema(req.output_spec ?? def.output_schema, mode);
    const tools = toolSet(req.agent, answer, mode);
    let cassette: ModelCall['cassette'];
    let model = this.options.model(settings);
    if (this.options.cassettes && this.options.cassettes.mode !== 'off') {
      model = withCassettes(model, {
        mode: this.options.cassettes.mode,
        dir: this.options.cassettes.dirFor(def.name),
        provider: this.name,
        secrets: this.options.secrets,
        onUse: (kind) => (cassette = kind),
      });
    }
    const conversation = messages(req, mode);
    const system = systemPrompt(req.agent, mode);
    const maxRepairs = Math.min(1, def.max_repairs);
    const tokens = { input: 0, output: 0 };
    let latency = 0;
    let requests = 0;
    let repairs = 0;

    for (;;) {
      requests += 1;
      const started = Date.now();
      const got = await this.ask(model, label, system, conversation, tools, mode, answer, settings, signal, info);
      latency += Date.now() - started;
      // Vendors that omit usage would otherwise make token and cost budgets blind; estimate instead.
      tokens.input += got.usage?.inputTokens ?? estimateTokens(system + JSON.stringify(conversation) + JSON.stringify(tools));
      tokens.output += got.usage?.outputTokens ?? estimateTokens(got.text + JSON.stringify(got.toolCalls));
      const usage: Usage = {
        input_tokens: tokens.input,
        output_tokens: tokens.output,
        cost_usd: priceUsd(settings.pricing, tokens.input, tokens.output),
      };
      const call: ModelCall = {
        provider: this.name,
        model: got.modelId ?? settings.name,
        finish_reason: got.finishReason,
        latency_ms: latency,
        attempt: info.attempt,
        requests,
        repairs,
        ...(cassette ? { cassette } : {}),
      };
      const read = toAction(got, (n) => platformToolName(tools, n));
      if ('action' in read) return { action: read.action, model: `${this.name}/${call.model}`, usage, call };
      if (repairs < maxRepairs) {
        repairs += 1;
        const how =
          mode === 'final_answer_tool'
            ? `Call exactly one of the tools, or ${FINAL_ANSWER_TOOL} with your answer.`
            : 'Call exactly one tool, or answer with the JSON object of the response schema and nothing else.';
        conversation.push(
          { role: 'assistant', content: truncate(read.echo, MAX_ECHO_CHARS) || '(empty)' },
          { role: 'user', content: `Your answer could not be used: ${read.problem}. ${how}` },
        );
        continue;
      }
      // The tokens were billed: the details carry them so the run's and the tenant's budgets count them.
      throw failure(
        ErrorCode.InvalidModelOutput,
        true,
        `${label} ${repairs ? 'after a repair turn still ' : ''}gave an unusable answer: ${read.problem}`,
        this.options.secrets,
        { details: [{ usage, call }] },
      );
    }
  }

  private async ask(
    model: VendorModel,
    label: string,
    system: string,
    conversation: ModelMessage[],
    tools: ReturnType<typeof toolSet>,
    mode: AnswerMode,
    answer: Record<string, unknown>,
    settings: ModelSettings,
    signal: AbortSignal | undefined,
    info: PlanCallInfo,
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const hasTools = Object.keys(tools).length > 0;
    // What the vendor answered, kept for answers the SDK then rejects (a text where a tool call was required).
    let answered: { usage: LanguageModelUsage; modelId: string } | undefined;
    try {
      const r = await generateText({
        model,
        system,
        messages: conversation,
        ...(hasTools ? { tools, toolChoice: mode === 'final_answer_tool' ? 'required' : 'auto' } : {}),
        ...(mode === 'structured_output' ? { output: Output.object({ schema: jsonSchema(answer), name: FINAL_ANSWER_TOOL }) } : {}),
        ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
        maxOutputTokens: settings.max_output_tokens ?? this.options.defaultMaxOutputTokens,
        ...(this.options.providerOptions ? { providerOptions: this.options.providerOptions(settings, hasTools) } : {}),
        // Temporal is the one retrier: it honours Retry-After and the step's attempts and timeouts.
        maxRetries: 0,
        abortSignal,
        onLanguageModelCallEnd: (e) => {
          answered = { usage: e.usage, modelId: e.modelId };
        },
      });
      return {
        text: r.text,
        toolCalls: r.toolCalls.map((c) => ({ toolName: platformToolName(tools, c.toolName), input: c.input as unknown })),
        usage: r.usage,
        finishReason: r.finishReason,
        modelId: r.response.modelId,
      };
    } catch (err) {
      // A cancelled activity must surface the cancellation itself, not a retryable vendor error.
      if (signal?.aborted) throw signal.reason ?? err;
      // Structured output the SDK could not parse is still an answer: billed, and worth a repair turn.
      if (NoObjectGeneratedError.isInstance(err)) {
        return {
          text: err.text ?? '',
          toolCalls: [],
          usage: err.usage,
          finishReason: err.finishReason ?? 'other',
          modelId: err.response?.modelId,
        };
      }
      // A text where a tool call was required is the model's answer, not an outage: it is billed, it
      // may be a JSON plan, and otherwise it gets the repair turn like any unusable answer.
      if (ToolChoiceViolationError.isInstance(err)) {
        return {
          text: err.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join(''),
          toolCalls: [],
          usage: answered?.usage,
          finishReason: err.finishReason,
          modelId: answered?.modelId ?? err.modelId,
        };
      }
      if (err instanceof ApplicationFailure) throw err;
      throw classifyVendorError(
        err,
        {
          label,
          keyVariable: this.options.keyVariable(settings),
          secrets: this.options.secrets,
          timeoutMs: this.timeoutMs,
          retryCapMs: info.retryCapMs,
        },
        timeout.aborted,
      );
    }
  }
}
