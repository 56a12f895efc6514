import fc from 'fast-check';
import { argsHash, canonicalJson } from '../../shared/canonical';

// canonicalJson is the request hash of every dispatch and the arguments hash of every approval: it must
// read back as the value it was given, not depend on key order, and serialize any depth a parser accepts.

const shuffledKeys = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(shuffledKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, m]) => [k, shuffledKeys(m)]),
  );
};

test('reads back as the same JSON value, keys sorted, whatever the key order', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = canonicalJson(v);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
      expect(canonicalJson(shuffledKeys(v))).toBe(text);
    }),
    { numRuns: 300 },
  );
});

test('undefined members are left out of objects and are null in arrays, as JSON.stringify does', () => {
  expect(canonicalJson({ b: 1, a: undefined, c: [undefined, 2] })).toBe('{"b":1,"c":[null,2]}');
  expect(canonicalJson(undefined)).toBe('null');
  expect(canonicalJson({ z: { y: [] }, a: {} })).toBe('{"a":{},"z":{"y":[]}}');
});

test('a value nested 100,000 deep serializes instead of overflowing the stack', () => {
  const depth = 100_000;
  const text = '{"a":'.repeat(depth) + '[1]' + '}'.repeat(depth);
  expect(canonicalJson(JSON.parse(text))).toBe(text);
  expect(argsHash('tool', JSON.parse(text) as Record<string, unknown>)).toMatch(/^[0-9a-f]{64}$/);
});
