import { status } from '@grpc/grpc-js';
import { dependencyProblem, UpdateOutcomeUnknown } from '../../gateway/runs/outages';

// What the gateway tells a caller when a Temporal call fails: the codes that mean "no answer" are a
// 503 naming Temporal (the caller cannot know whether the call took effect, so it retries with its
// Idempotency-Key); anything else is not an outage and stays the caller's or the server's error.
const grpcError = (code: status, details = 'x') => Object.assign(new Error(details), { code, details, metadata: {} });

test.each([
  [status.UNAVAILABLE, 'unavailable'],
  [status.DEADLINE_EXCEEDED, 'no answer in time'],
  [status.CANCELLED, 'the call was cancelled before an answer'],
])('gRPC code %i is a 503 naming Temporal (%s), also when it is the cause of the SDK error', (code, why) => {
  for (const err of [grpcError(code), new Error('the SDK wrapped it', { cause: grpcError(code) })]) {
    const problem = dependencyProblem(err);
    expect(problem).toMatchObject({ status: 503, slug: 'temporal-unavailable', extensions: { dependency: 'temporal' } });
    expect(problem!.detail).toContain(why);
  }
});

test.each([status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.INTERNAL])(
  'gRPC code %i is not an outage',
  (code) => {
    expect(dependencyProblem(grpcError(code))).toBeUndefined();
  },
);

test.each([
  ['temporal', 'temporal-unavailable'],
  ['worker', 'worker-unavailable'],
] as const)(
  'an Update of unknown outcome because %s did not answer is a 503 naming it, saying the outcome is unknown and how to check',
  (dependency, slug) => {
    const problem = dependencyProblem(
      new UpdateOutcomeUnknown(dependency, 'decision', 'GET /v1/runs/r-1 lists its decisions', { cause: undefined }),
    );
    expect(problem).toMatchObject({ status: 503, slug, extensions: { dependency, outcome: 'unknown' } });
    expect(problem!.detail).toContain('unknown: GET /v1/runs/r-1 lists its decisions');
  },
);
