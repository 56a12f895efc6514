// Spans and metrics around the two calls a run pays for: the model call of a Plan step (OpenTelemetry
// GenAI semantic conventions) and the tool call of a ToolCall step. The spans are children of the
// Temporal interceptor's RunActivity span; while tracing is off they are the API's no-op spans.
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode } from '../contracts/errors';
import type { PlanRequest, PlanResult, ToolCallRequest } from '../contracts/run';
import { boundedErrorType, type WorkerMetrics } from '../observability/metrics';
import { redact } from '../observability/redact';
import { tracer } from '../observability/tracing';
import type { ToolDefinition } from './tools/tool';

const CODES = Object.values(ErrorCode) as string[];
const errorType = (err: unknown): string =>
  boundedErrorType(err instanceof ApplicationFailure ? (err.type ?? undefined) : err instanceof Error ? err.name : undefined, CODES);

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? redact(err) : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: redact(err instanceof Error ? err.message : String(err)) });
}

/**
 * Runs `call` in an active span: `ok` adds what the answer says, a failure is recorded on the span with
 * its bounded error.type (handed to `failure` for the metrics), `done` runs either way, and the span ends.
 */
function inSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  call: () => Promise<T>,
  on: { ok: (span: Span, out: T) => void; failure: (type: string) => void; done?: () => void },
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      const out = await call();
      on.ok(span, out);
      return out;
    } catch (err) {
      failed(span, err);
      const type = errorType(err);
      span.setAttribute('error.type', type);
      on.failure(type);
      throw err;
    } finally {
      on.done?.();
      span.end();
    }
  });
}

const summary = (value: unknown, max = 300) => {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
};

/** Runs a model call inside a `chat <model>` span with the GenAI attributes, and counts it. */
export async function observeModelCall(req: PlanRequest, metrics: WorkerMetrics, call: () => Promise<PlanResult>): Promise<PlanResult> {
  const settings = req.agent.definition.model;
  const agent = req.agent.definition.name;
  const attempt = Context.current().info.attempt;
  return inSpan(
    `chat ${settings.name}`,
    SpanKind.CLIENT,
    {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': settings.provider,
      'gen_ai.request.model': settings.name,
      ...(settings.temperature !== undefined ? { 'gen_ai.request.temperature': settings.temperature } : {}),
      'acp.step': req.step,
      'acp.attempt': attempt,
    },
    call,
    {
      ok: (span, result) => {
        span.setAttributes({
          'gen_ai.response.model': result.model,
          'gen_ai.usage.input_tokens': result.usage.input_tokens,
          'gen_ai.usage.output_tokens': result.usage.output_tokens,
          'gen_ai.response.finish_reasons': [result.call?.finish_reason ?? (result.action.type === 'tool_call' ? 'tool_calls' : 'stop')],
          'acp.plan.action': result.action.type,
          'acp.cost_usd': result.usage.cost_usd,
        });
        const labels = { agent, provider: settings.provider, model: result.model };
        metrics.modelCalls.inc({ ...labels, outcome: 'ok' });
        metrics.modelTokens.inc({ ...labels, direction: 'input' }, result.usage.input_tokens);
        metrics.modelTokens.inc({ ...labels, direction: 'output' }, result.usage.output_tokens);
        metrics.modelCost.inc(labels, result.usage.cost_usd);
      },
      failure: () => metrics.modelCalls.inc({ agent, provider: settings.provider, model: settings.name, outcome: 'error' }),
    },
  );
}

/** Runs a tool call inside an `execute_tool <name>` span (tool, adapter kind, side effect, policy decision), and counts it. */
export async function observeToolCall<T>(
  req: ToolCallRequest,
  tool: ToolDefinition,
  metrics: WorkerMetrics,
  call: () => Promise<T>,
): Promise<T> {
  const attempt = Context.current().info.attempt;
  if (attempt > 1) metrics.toolRetries.inc({ tool: tool.name });
  const started = process.hrtime.bigint();
  return inSpan(
    `execute_tool ${tool.name}`,
    SpanKind.INTERNAL,
    {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool.name,
      'acp.tool.kind': tool.kind ?? 'typescript',
      'acp.tool.side_effect': tool.side_effect,
      'acp.policy.effect': req.policy?.effect ?? 'none',
      'acp.policy.rule': req.policy?.rule ?? 'none',
      'acp.tool.args': summary(req.args),
      'acp.step': req.step,
      'acp.attempt': attempt,
    },
    call,
    {
      ok: () => metrics.toolCalls.inc({ tool: tool.name, outcome: 'ok' }),
      failure: (type) => {
        metrics.toolCalls.inc({ tool: tool.name, outcome: 'error' });
        metrics.toolErrors.inc({ tool: tool.name, error_type: type });
      },
      done: () => metrics.toolDuration.observe({ tool: tool.name }, Number(process.hrtime.bigint() - started) / 1e9),
    },
  );
}
