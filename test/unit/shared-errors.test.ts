import { z } from 'zod';
import { causeChain, describeIssues, findCause, rootCause } from '../../shared/errors';

const chain = () => {
  const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const middle = new Error('fetch failed', { cause: root });
  return { root, middle, outer: new Error('request failed', { cause: middle }) };
};

test('causeChain walks from the error to its innermost cause', () => {
  const { root, middle, outer } = chain();
  expect([...causeChain(outer)]).toEqual([outer, middle, root]);
  expect([...causeChain(undefined)]).toEqual([]);
});

test('rootCause is the innermost error; an error without a cause is its own root', () => {
  const { root, outer } = chain();
  expect(rootCause(outer)).toBe(root);
  expect(rootCause(root)).toBe(root);
});

test('findCause returns the first error of the chain that matches, or undefined', () => {
  const { root, middle, outer } = chain();
  expect(findCause(outer, (e) => (e as { code?: unknown }).code === 'ECONNREFUSED')).toBe(root);
  expect(findCause(outer, (e) => e instanceof Error)).toBe(outer);
  expect(findCause(outer, (e) => (e as Error).message === 'fetch failed')).toBe(middle);
  expect(findCause(outer, () => false)).toBeUndefined();
});

test('a cycle of causes ends instead of looping', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  expect([...causeChain(a)].length).toBeLessThanOrEqual(8);
  expect(findCause(a, () => false)).toBeUndefined();
});

test('describeIssues names each path, and (root) for the value itself', () => {
  const object = z.object({ a: z.object({ b: z.number() }), c: z.string() }).safeParse({ a: { b: 'x' }, c: 1 });
  expect(object.success).toBe(false);
  expect(describeIssues(object.error!)).toMatch(/^a\.b: .+; c: .+$/);
  expect(describeIssues(z.string().safeParse(1).error!)).toMatch(/^\(root\): /);
});
