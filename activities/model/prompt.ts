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

/** The conversation: the task and context, then every observation so far, oldest first. */
export function messages(req: PlanRequest): ModelMessage[] {
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
  return [{ role: 'user', content: parts.join('\n\n') }];
}
