import { startLifecyclePlatform, type LifecyclePlatform } from '../support/lifecycle-platform';
import { http, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

// The gateway checks a run's context against the agent's input_schema, and its output_spec, before starting it.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform } = lifecycle);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('agent schemas', () => {
  test("a context that fails the agent's input_schema is a 400 naming the field, and starts nothing", async () => {
    const since = new Date();
    const res = await http(platform, 'POST', '/v1/runs', {
      agent: 'ticket-filer',
      task: 'x',
      context: { priority: 'urgent', details: 'y' },
    });
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain('context.priority');
    expect(await runsStartedSince(platform, since)).toEqual([]);
  });

  test('an output_spec that is not a usable JSON Schema is a 400', async () => {
    const res = await http(platform, 'POST', '/v1/runs', {
      agent: 'docs-researcher',
      task: 'x',
      output_spec: { type: 'no-such-type' },
    });
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['output_spec']);
  });
});
