import { checkOutputSpec, jsonSchemaProblem } from '../../shared/output-spec';

describe('checkOutputSpec', () => {
  const spec = {
    type: 'object',
    required: ['answer'],
    properties: { answer: { type: 'string', minLength: 3 }, tags: { type: 'array', items: { type: 'string' } } },
  };

  test('a matching result has no violations', () => {
    expect(checkOutputSpec(spec, { answer: 'yes', tags: ['a'] })).toEqual([]);
  });

  test('violations name the path inside the result, not the wrapping keyword', () => {
    expect(checkOutputSpec(spec, { answer: 'no', tags: ['a', 2] })).toEqual([
      { path: '/answer', message: expect.stringContaining('too short') },
      { path: '/tags/1', message: expect.stringContaining('"number"') },
    ]);
  });

  test('a missing required property is reported at the object, naming the property', () => {
    expect(checkOutputSpec(spec, {})).toEqual([{ path: '/', message: expect.stringContaining('"answer"') }]);
  });
});

describe('jsonSchemaProblem', () => {
  test.each([
    [{ type: 'object', properties: { a: { type: 'string' } } }],
    [{ type: ['string', 'null'] }],
    [{ $defs: { x: { type: 'integer' } }, $ref: '#/$defs/x' }],
  ])('accepts a usable schema %#', (schema) => {
    expect(jsonSchemaProblem(schema)).toBeUndefined();
  });

  test.each([
    [{ type: 'strng' }, '/type'],
    [{ properties: { a: { type: 42 } } }, '/properties/a/type'],
    [{ required: 'answer' }, '/required'],
    [{ minLength: -1 }, '/minLength'],
  ])('refuses %j at %s', (schema, where) => {
    expect(jsonSchemaProblem(schema)).toMatch(new RegExp(`^${where.replaceAll('/', '\\/')}`));
  });
});
