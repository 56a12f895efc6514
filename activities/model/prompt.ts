import { jsonSchema, tool, type ModelMessage, type ToolSet } from 'ai';
import type { ResolvedAgent } from '../../contracts/agent';
import type { PlanRequest } from '../../contracts/run';

// Keeps one verbose tool output from blowing the context window (and the token budget).
const MAX_OBSERVATION_CHARS = 8_000;

/** The name of the tool a model answers with when the answer schema goes as a tool. */
export const FINAL_ANSWER_TOOL = 'final_answer';

/** How the answer schema reaches the model: the vendor's structured-output mode, or a final_answer tool. */
export type AnswerMode = 'structured_output' | 'final_answer_tool';

/** Truncates `text` to `max` characters, saying how long it was. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… [truncated, ${text.length} characters in all]` : text;
}

function json(value: unknown): string {
  // JSON.stringify(undefined) is undefined, which would print as "undefined" anyway; say so explicitly.
  return JSON.stringify(value) ?? 'null';
}

/**
 * The JSON Schema of the final answer: the caller's output_spec as `result`, plus why the model is done.
 * In structured-output mode the answer also carries `"type": "final"`, so it parses as a plan action.
 */
export function answerSchema(outputSpec: Record<string, unknown> | undefined, mode: AnswerMode): Record<string, unknown> {
  const result = outputSpec ?? { description: 'Your answer, as any JSON value.' };
  const properties: Record<string, unknown> = { result, reason: { type: 'string', description: 'Why you are done.' } };
  if (mode === 'structured_output') {
    return {
      type: 'object',
      properties: { type: { type: 'string', const: 'final' }, ...properties },
      required: ['type', 'result', 'reason'],
    };
  }
  return { type: 'object', properties, required: ['result', 'reason'] };
}

/**
 * The agent's tools as native tool definitions: each tool's description and the JSON Schema of its
 * arguments, and, in final_answer mode, the final_answer tool whose arguments are the answer schema.
 * No `execute`: the model only proposes; the workflow decides and the tool activity runs the call.
 */
export function toolSet(agent: ResolvedAgent, answer: Record<string, unknown>, mode: AnswerMode): ToolSet {
  const tools: ToolSet = {};
  const names = new Map<string, string>();
  for (const name of agent.definition.tools) {
    const spec = agent.tools[name];
    const vendorName = vendorToolName(name);
    const clash = names.get(vendorName);
    if (clash !== undefined) throw new Error(`tools ${clash} and ${name} would reach the model under the same name ${vendorName}`);
    names.set(vendorName, name);
    tools[vendorName] = tool({
      description: spec?.description ?? name,
      inputSchema: jsonSchema(spec?.input_schema ?? { type: 'object' }),
    });
  }
  if (mode === 'final_answer_tool') {
    tools[FINAL_ANSWER_TOOL] = tool({
      description: 'Finish the run with your answer, once the observations are enough to complete the task.',
      inputSchema: jsonSchema(answer),
    });
  }
  PLATFORM_NAMES.set(tools, names);
  return tools;
}

/**
 * The name a tool goes to the vendor under. Vendors allow only letters, digits, _ and - in function
 * names (OpenAI: ^[a-zA-Z0-9_-]+$), and MCP tools are named `<instance>.<tool>`: the dot becomes `__`.
 */
export function vendorToolName(name: string): string {
  return name.replaceAll('.', '__');
}

const PLATFORM_NAMES = new WeakMap<ToolSet, Map<string, string>>();

/** The platform's name of a tool the model called by its vendor name (see vendorToolName). */
export function platformToolName(tools: ToolSet, vendorName: string): string {
  return PLATFORM_NAMES.get(tools)?.get(vendorName) ?? vendorName;
}

/** The system prompt: the agent's instructions and how to answer. */
export function systemPrompt(agent: ResolvedAgent, mode: AnswerMode): string {
  const hasTools = agent.definition.tools.length > 0;
  const how =
    mode === 'final_answer_tool'
      ? hasTools
        ? `Call exactly one tool per turn: one of the tools to gather what you need, or ${FINAL_ANSWER_TOOL} when the observations are enough to complete the task.`
        : `Answer by calling ${FINAL_ANSWER_TOOL}.`
      : hasTools
        ? 'Call exactly one tool per turn to gather what you need; when the observations are enough, answer with the JSON object of the response schema instead of a tool call.'
        : 'Answer with the JSON object of the response schema.';
  return [agent.definition.instructions.trim(), '', 'You decide the next step of an agent run.', how].join('\n');
}

/** The id a ToolCall step's call goes back under: derived from the step, so equal runs send equal requests (cassettes). */
export function toolCallId(step: number): string {
  return `step_${step}`;
}

/** The pseudo-tool of an observation that carries a final answer the output_spec rejected (workflows/steps/validate.ts). */
const OUTPUT_SPEC = 'output_spec';

/**
 * The conversation as vendors train and cache on it: the task and context as the user's message,
 * then each ToolCall step as the assistant's tool call followed by its `tool` result (the output,
 * truncated), oldest first. A final answer the output_spec rejected goes back as the answer the
 * model gave (its final_answer call, or its JSON) followed by what was wrong with it.
 */
export function messages(req: PlanRequest, mode: AnswerMode): ModelMessage[] {
  const out: ModelMessage[] = [{ role: 'user', content: `Task:\n${req.task}\n\nContext (JSON):\n${json(req.context)}` }];
  for (const o of req.observations) {
    if (o.tool === OUTPUT_SPEC && isRecord(o.output) && 'rejected_result' in o.output) {
      const rejected = { result: o.output.rejected_result, reason: '' };
      const feedback = `The result was rejected: it does not match the output_spec (the schema of result): ${truncate(json(o.output.violations), MAX_OBSERVATION_CHARS)}`;
      if (mode === 'final_answer_tool') {
        out.push(toolCallMessage(o.step, FINAL_ANSWER_TOOL, rejected), toolResultMessage(o.step, FINAL_ANSWER_TOOL, feedback));
      } else {
        out.push({ role: 'assistant', content: truncate(json({ type: 'final', ...rejected }), MAX_OBSERVATION_CHARS) });
        out.push({ role: 'user', content: feedback });
      }
      continue;
    }
    const name = vendorToolName(o.tool);
    out.push(toolCallMessage(o.step, name, o.args), toolResultMessage(o.step, name, truncate(json(o.output), MAX_OBSERVATION_CHARS)));
  }
  return out;
}

function toolCallMessage(step: number, toolName: string, input: unknown): ModelMessage {
  return { role: 'assistant', content: [{ type: 'tool-call', toolCallId: toolCallId(step), toolName, input }] };
}

function toolResultMessage(step: number, toolName: string, text: string): ModelMessage {
  return {
    role: 'tool',
    content: [{ type: 'tool-result', toolCallId: toolCallId(step), toolName, output: { type: 'text', value: text } }],
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
