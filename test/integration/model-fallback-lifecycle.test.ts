import { ErrorCode } from '../../contracts/errors';
import { messageText, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { startLifecyclePlatform, type Credentials, type LifecyclePlatform } from '../support/lifecycle-platform';
import { waitForRun, type TestPlatform } from '../support/platform';

// What a run does with a bad model answer or a failing vendor, on the real dev server: output_spec repair,
// a fallback model, and escalation to a human when there is no fallback model.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;
let vendor: FakeLlmVendor;
let OPERATOR: Credentials;
let dispatch: LifecyclePlatform['dispatch'];
let pendingApproval: LifecyclePlatform['pendingApproval'];
let decide: LifecyclePlatform['decide'];

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform, vendor, dispatch, pendingApproval, decide } = lifecycle);
  ({ OPERATOR } = lifecycle.people);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('output_spec and fallback', () => {
  const spec = { type: 'object', required: ['answer'], properties: { answer: { type: 'string', minLength: 3 } } };

  test('a violating final answer gets one repair through Plan and then passes', async () => {
    vendor.respondWith((body) => {
      const sawViolation = messageText(body).includes('output_spec');
      return { content: { type: 'final', result: sawViolation ? { answer: 'fixed' } : { answer: 1 }, reason: 'r' } };
    });
    try {
      const runId = await dispatch('vendor-repair', 'Repair', { output_spec: spec });
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('completed');
      expect((run.output as { result: unknown }).result).toEqual({ answer: 'fixed' });
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'Validate', 'Plan', 'Validate', 'Complete']);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });

  test('a final answer that stays invalid fails the run naming the violated path', async () => {
    const runId = await dispatch('docs-researcher', 'Never valid', { output_spec: spec });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ type: ErrorCode.OutputSpecViolation, message: expect.stringContaining('"answer"') });
    // one Validate for the tool output, then the answer, its repair, and the repaired answer again
    expect((run.steps as { type: string }[]).filter((s) => s.type === 'Validate')).toHaveLength(3);
  });

  test('when the model vendor keeps failing, the agent falls back to its fallback model', async () => {
    vendor.respondWith(() => ({ status: 500, error: 'overloaded' }));
    try {
      const runId = await dispatch('vendor-fallback', 'Fallback please');
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('completed');
      expect((run.output as { result: { summary: string } }).result.summary).toBe('answered by the fallback: Fallback please');
      expect((run.output as { warnings: string[] }).warnings[0]).toMatch(
        /model openai\/gpt-test-vendor-fallback failed \(ModelUnavailable\); fell back to scripted\/fallback-script/,
      );
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'RetryFallback', 'Plan', 'Validate', 'Complete']);
      expect(vendor.requests.filter((r) => r.body.model === 'gpt-test-vendor-fallback').length).toBe(2);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });
});

describe('escalation', () => {
  test('when the model keeps failing and there is no fallback model, a human decides; a rejection ends the run', async () => {
    vendor.respondWith(() => ({ status: 503, error: 'down' }));
    try {
      const runId = await dispatch('vendor-escalate', 'Escalate');
      const approval = await pendingApproval(runId);
      expect(approval).toMatchObject({ kind: 'escalation', approvers: { roles: ['operator'] } });
      expect(approval.reason).toContain('ModelUnavailable');
      const res = await decide(
        runId,
        approval.id,
        { decision: 'reject', args_hash: approval.args_hash, comment: 'vendor is down' },
        OPERATOR,
      );
      expect(res.status).toBe(200);
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ type: ErrorCode.ModelUnavailable, message: expect.stringContaining('gave up after escalation') });
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'RetryFallback', 'HumanApproval', 'Decide', 'Fail']);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });
});
