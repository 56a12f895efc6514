import { PlanActionSchema, RunRequestSchema } from '../../contracts/run';

const issues = (body: unknown) => {
  const res = RunRequestSchema.safeParse(body);
  expect(res.success).toBe(false);
  return res.error!.issues;
};

describe('RunRequestSchema', () => {
  test('a minimal body gets an empty context and constraints', () => {
    expect(RunRequestSchema.parse({ agent: 'docs-researcher', task: 'How do I cancel a run?' })).toEqual({
      agent: 'docs-researcher',
      task: 'How do I cancel a run?',
      context: {},
      constraints: {},
    });
  });

  test('an unknown top-level field is rejected', () => {
    const [issue] = issues({ agent: 'docs-researcher', task: 't', priority: 'high' });
    expect(issue!.code).toBe('unrecognized_keys');
    expect(issue!.message).toContain('priority');
  });

  test.each(['docs-researcher@1.0.0', 'docs-researcher@2.0.0-rc.1', 'a'])('agent %j is accepted', (agent) => {
    expect(RunRequestSchema.safeParse({ agent, task: 't' }).success).toBe(true);
  });

  test.each(['docs researcher', 'Docs-Researcher', '../etc/passwd', 'agents/docs-researcher', 'docs-researcher@', '1agent', ''])(
    'agent %j is rejected at path agent',
    (agent) => {
      expect(issues({ agent, task: 't' }).map((i) => i.path)).toEqual([['agent']]);
    },
  );

  test('a whitespace-only task is rejected', () => {
    const [issue] = issues({ agent: 'docs-researcher', task: '   \n\t ' });
    expect(issue!.path).toEqual(['task']);
    expect(issue!.message).toBe('must not be empty');
  });

  test('the task is trimmed', () => {
    expect(RunRequestSchema.parse({ agent: 'a', task: '  hi  ' }).task).toBe('hi');
  });

  test.each([0, 'ten', -1, 1.5, 1001])('constraints.max_steps %j is rejected at its path', (max_steps) => {
    expect(issues({ agent: 'a', task: 't', constraints: { max_steps } }).map((i) => i.path)).toEqual([['constraints', 'max_steps']]);
  });

  test('valid constraints and context pass through', () => {
    const body = { agent: 'a', task: 't', context: { ticket: { id: 1 } }, constraints: { max_steps: 5, scope: ['repo:x'] } };
    expect(RunRequestSchema.parse(body)).toEqual(body);
  });

  test('an unknown constraint is rejected', () => {
    expect(issues({ agent: 'a', task: 't', constraints: { max_retries: 3 } })[0]!.path).toEqual(['constraints']);
  });
});

describe('PlanActionSchema', () => {
  test('accepts a tool call and a final answer, defaulting reason to empty', () => {
    expect(PlanActionSchema.parse({ type: 'tool_call', tool: 'docs_search', args: { query: 'x' } })).toEqual({
      type: 'tool_call',
      tool: 'docs_search',
      args: { query: 'x' },
      reason: '',
    });
    expect(PlanActionSchema.parse({ type: 'final', result: { summary: 's' } })).toEqual({
      type: 'final',
      result: { summary: 's' },
      reason: '',
    });
  });

  test('rejects an unknown action type', () => {
    expect(PlanActionSchema.safeParse({ type: 'shell', command: 'rm -rf /' }).success).toBe(false);
  });

  test('rejects a tool call without args, with an empty tool name, or with extra fields', () => {
    expect(PlanActionSchema.safeParse({ type: 'tool_call', tool: 'docs_search' }).success).toBe(false);
    expect(PlanActionSchema.safeParse({ type: 'tool_call', tool: '', args: {} }).success).toBe(false);
    expect(PlanActionSchema.safeParse({ type: 'tool_call', tool: 'docs_search', args: {}, sudo: true }).success).toBe(false);
  });
});
