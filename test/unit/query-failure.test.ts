import { status } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { queryFailure, queryWarning } from '../../gateway/runs/errors';

// Why a state query got no answer, as the run view's warning says it. The server holds the query's
// deadline too and, when it expires there first, resets the stream: grpc-js then reports CANCELLED
// ("Call cancelled"), which past the deadline means exactly what DEADLINE_EXCEEDED means.
const grpcError = (code: status, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
const wrapped = (code: status, details: string) => new ServiceError('Failed to query Workflow', { cause: grpcError(code, details) });

test('a deadline is "no worker answered", before or after the deadline as the gateway measured it', () => {
  for (const passed of [false, true]) {
    expect(queryFailure(wrapped(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), passed)).toEqual({ kind: 'no-worker' });
  }
});

test('a stream the server cancelled once the deadline passed is "no worker answered"', () => {
  const failure = queryFailure(wrapped(status.CANCELLED, 'Call cancelled'), true);
  expect(queryWarning(failure)).toBe('no worker answered the state query; is a worker polling the task queue?');
});

test('a cancelled call before the deadline is another fault, named with its cause', () => {
  const failure = queryFailure(wrapped(status.CANCELLED, 'Call cancelled'), false);
  expect(failure).toEqual({ kind: 'failed', message: 'Failed to query Workflow: 1 Call cancelled' });
});

test('other failures are never blamed on a missing worker', () => {
  expect(queryFailure(wrapped(status.INTERNAL, 'boom'), true)).toEqual({ kind: 'failed', message: 'Failed to query Workflow: 13 boom' });
});
