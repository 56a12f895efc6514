import { ScriptedPlanner } from '../../activities/model/scripted';
import { AgentDefinitionSchema, type ResolvedAgent } from '../../contracts/agent';
import { PlanActionSchema, type Observation, type PlanRequest } from '../../contracts/run';
import { TRIAGE_TASK, TRIAGER_TOOLS, triageRequest } from '../support/plan-fixtures';

const definition = AgentDefinitionSchema.parse({
  name: 'triager',
  version: '1.2.0',
  owner: 'support',
  description: 'Looks up a ticket, then searches the docs.',
  model: { provider: 'scripted', name: 'triager-script' },
  instructions: 'Triage the ticket.',
  tools: ['ticket_lookup', 'docs_search'],
  script: {
    steps: [
      {
        tool: 'ticket_lookup',
        args: {
          id: '{{context.ticket.id}}',
          filter: { about: 'ticket {{ context.ticket.id }}: {{task}}', tags: ['{{task}}', 'static', 7] },
          missing: '[{{context.nope.deeper}}]',
        },
      },
      { tool: 'docs_search', args: { query: '{{task}} {{context.ticket.title}}', limit: 2 } },
    ],
    finish: { summary: 'Found {{evidence_count}} passages for: {{task}}' },
  },
});

const agent: ResolvedAgent = { definition, tools: TRIAGER_TOOLS };
const TASK = TRIAGE_TASK;
const request = (observations: Observation[] = [], a: ResolvedAgent = agent): PlanRequest => triageRequest(a, observations);

const ticketObservation: Observation = {
  step: 2,
  tool: 'ticket_lookup',
  args: { id: '42' },
  output: { status: 'open' },
  evidence: [{ source: 'ticket/42', excerpt: 'Run timed out after 600 s' }],
};
const docsObservation: Observation = {
  step: 4,
  tool: 'docs_search',
  args: { query: TASK },
  output: { hits: [] },
  evidence: [
    { source: 'docs/budgets.md#L3', excerpt: 'Runs time out after timeout_seconds.' },
    { source: 'docs/budgets.md#L9', excerpt: 'Set constraints.timeout_seconds per run.' },
  ],
};

const planner = new ScriptedPlanner();

describe('ScriptedPlanner', () => {
  test('first step: calls the first scripted tool with placeholders filled, also in nested objects and arrays', async () => {
    const { action } = await planner.plan(request());
    expect(action).toEqual({
      type: 'tool_call',
      tool: 'ticket_lookup',
      args: {
        id: '42',
        filter: { about: `ticket 42: ${TASK}`, tags: [TASK, 'static', 7] },
        missing: '[]',
      },
      reason: 'script step 1 of 2',
    });
  });

  test('after one observation: calls the second scripted tool, keeping non-string args as they are', async () => {
    const { action } = await planner.plan(request([ticketObservation]));
    expect(action).toEqual({
      type: 'tool_call',
      tool: 'docs_search',
      args: { query: `${TASK} timeouts`, limit: 2 },
      reason: 'script step 2 of 2',
    });
  });

  test('after all steps: a final answer with the evidence count in the summary and every observation’s evidence as findings', async () => {
    const { action } = await planner.plan(request([ticketObservation, docsObservation]));
    expect(action).toEqual({
      type: 'final',
      result: {
        summary: `Found 3 passages for: ${TASK}`,
        findings: [...ticketObservation.evidence, ...docsObservation.evidence],
      },
      reason: 'script finished',
    });
  });

  test('every action it returns passes PlanActionSchema unchanged', async () => {
    for (const obs of [[], [ticketObservation], [ticketObservation, docsObservation]]) {
      const { action } = await planner.plan(request(obs));
      const parsed = PlanActionSchema.safeParse(action);
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(action);
    }
  });

  test('reports the model and an estimated token usage at no cost', async () => {
    const first = await planner.plan(request());
    const last = await planner.plan(request([ticketObservation, docsObservation]));
    expect(first.model).toBe('scripted/triager-script');
    for (const { usage } of [first, last]) {
      expect(usage.input_tokens).toBeGreaterThan(0);
      expect(usage.output_tokens).toBeGreaterThan(0);
      expect(usage.cost_usd).toBe(0);
    }
    // It reads the observations, so a later step costs more input tokens.
    expect(last.usage.input_tokens).toBeGreaterThan(first.usage.input_tokens);
  });

  test('is deterministic: the same request gives a deep-equal result', async () => {
    const req = request([ticketObservation]);
    expect(await planner.plan(req)).toEqual(await planner.plan(structuredClone(req)));
  });

  test('an agent without a script is an error naming the agent', async () => {
    const noScript: ResolvedAgent = { ...agent, definition: { ...definition, script: undefined } };
    await expect(planner.plan(request([], noScript))).rejects.toThrow('agent triager has no script');
  });
});
