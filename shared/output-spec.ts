import { Validator } from '@cfworker/json-schema';

export interface SpecViolation {
  /** JSON pointer into the result, e.g. /summary. */
  path: string;
  message: string;
}

/**
 * Checks a final result against the caller's output_spec (JSON Schema 2020-12). @cfworker/json-schema
 * interprets schemas without code generation, so it is deterministic and safe in the workflow sandbox.
 */
export function checkOutputSpec(spec: Record<string, unknown>, result: unknown): SpecViolation[] {
  const validator = new Validator(spec, '2020-12', false);
  const res = validator.validate(result);
  if (res.valid) return [];
  // The innermost errors say what is wrong; the outer ones only repeat that a keyword failed.
  const WRAPPERS = new Set(['properties', 'items', 'prefixItems', 'allOf', '$ref', 'additionalProperties']);
  const deeper = (loc: string) => res.errors.some((o) => o.instanceLocation !== loc && o.instanceLocation.startsWith(`${loc}/`));
  const out: SpecViolation[] = [];
  for (const e of res.errors) {
    if (WRAPPERS.has(e.keyword) && deeper(e.instanceLocation)) continue;
    out.push({ path: e.instanceLocation.replace(/^#/, '') || '/', message: e.error });
  }
  return out;
}

const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];
const count = { type: 'integer', minimum: 0 };
const schemaList = { type: 'array', minItems: 1, items: { $ref: '#' } };
const schemaMap = { type: 'object', additionalProperties: { $ref: '#' } };

/**
 * The common keywords of JSON Schema 2020-12 and the shapes their values must have. Not the full
 * meta-schema: enough to refuse a schema with a mistyped keyword value (e.g. `type: strng`) before
 * it is used, instead of failing every result later.
 */
const META: Record<string, unknown> = {
  type: ['object', 'boolean'],
  properties: {
    type: { anyOf: [{ enum: TYPES }, { type: 'array', minItems: 1, items: { enum: TYPES } }] },
    properties: schemaMap,
    patternProperties: schemaMap,
    $defs: schemaMap,
    additionalProperties: { $ref: '#' },
    items: { $ref: '#' },
    prefixItems: schemaList,
    contains: { $ref: '#' },
    not: { $ref: '#' },
    if: { $ref: '#' },
    then: { $ref: '#' },
    else: { $ref: '#' },
    allOf: schemaList,
    anyOf: schemaList,
    oneOf: schemaList,
    required: { type: 'array', items: { type: 'string' } },
    enum: { type: 'array' },
    pattern: { type: 'string' },
    format: { type: 'string' },
    $ref: { type: 'string' },
    minLength: count,
    maxLength: count,
    minItems: count,
    maxItems: count,
    minProperties: count,
    maxProperties: count,
    uniqueItems: { type: 'boolean' },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    exclusiveMinimum: { type: 'number' },
    exclusiveMaximum: { type: 'number' },
    multipleOf: { type: 'number', exclusiveMinimum: 0 },
  },
};

/** The reason a JSON Schema cannot be used (a keyword with a value of the wrong shape, a broken $ref), or undefined. */
export function jsonSchemaProblem(spec: Record<string, unknown>): string | undefined {
  const meta = new Validator(META, '2020-12', false).validate(spec);
  if (!meta.valid) {
    const deepest =
      meta.errors.filter((e) => !['properties', 'additionalProperties', '$ref', 'items'].includes(e.keyword)).at(-1) ?? meta.errors[0];
    return `${deepest?.instanceLocation.replace(/^#/, '') || '/'}: ${deepest?.error ?? 'invalid schema'}`;
  }
  try {
    new Validator(spec, '2020-12', false).validate(null);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
