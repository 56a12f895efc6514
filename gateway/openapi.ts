import { z } from 'zod';
import {
  ApprovalDecisionRequestSchema,
  ListRunsQuerySchema,
  RunRequestSchema,
  TakeoverRequestSchema,
  WorkRequestSchema,
} from '../contracts/run';
import {
  AgentListSchema,
  AuditListSchema,
  ApprovalListSchema,
  CancelAcceptedSchema,
  DecisionResultSchema,
  HealthSchema,
  PolicyReloadedSchema,
  BudgetStatusSchema,
  PolicyStatusSchema,
  ProblemSchema,
  ReadySchema,
  RunAcceptedSchema,
  RunListSchema,
  RunViewSchema,
  StepsSchema,
  TakeoverResultSchema,
} from './api-schemas';

type Json = Record<string, unknown>;

/** A zod schema as OpenAPI 3.1 wants it: plain JSON Schema 2020-12, without the $schema line. */
function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const { $schema, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  void $schema;
  return rest;
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: schema(ProblemSchema) } } });
const ok = (description: string, s: z.ZodType) => ({ description, content: { 'application/json': { schema: schema(s) } } });
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s, 'input') } } });
const runId = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The run id (the Temporal workflow id).' };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      problem(
        {
          400: 'Invalid request (field paths in `errors`)',
          401: 'Missing or invalid credential',
          403: 'Not allowed',
          404: 'Not found (also another tenant’s run)',
          409: 'Conflict',
          413: 'Body too large',
          415: 'Body is not application/json',
          429: 'Rate limit or quota reached (Retry-After)',
        }[c] ?? 'Error',
      ),
    ]),
  );

/** The OpenAPI 3.1 document of the gateway, built from the zod schemas that validate its traffic. */
export function openApiDocument(): Json {
  const listParams = Object.entries((schema(ListRunsQuerySchema, 'input').properties ?? {}) as Record<string, Json>).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
  }));
  return {
    openapi: '3.1.0',
    info: { title: 'Agent control plane gateway', version: '1', description: 'Dispatch, read, approve, cancel and take over agent runs.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key or a JWT.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/v1/runs': {
        post: {
          summary: 'Dispatch a run',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' } },
          ],
          requestBody: body(RunRequestSchema),
          responses: {
            '202': ok('Run started', RunAcceptedSchema),
            '200': ok('Same Idempotency-Key and body: the original run', RunAcceptedSchema),
            ...errors(400, 401, 403, 404, 409, 413, 415, 429),
          },
        },
        get: {
          summary: 'List runs of the caller’s tenant',
          parameters: listParams,
          responses: { '200': ok('A page of runs', RunListSchema), ...errors(400, 401, 429) },
        },
      },
      '/v1/runs/{id}': {
        get: {
          summary: 'A run: state, steps, output',
          parameters: [runId],
          responses: { '200': ok('The run', RunViewSchema), ...errors(401, 404, 429) },
        },
      },
      '/v1/runs/{id}/steps': {
        get: {
          summary: 'A run’s steps',
          parameters: [runId],
          responses: { '200': ok('The steps', StepsSchema), ...errors(401, 404, 429) },
        },
      },
      '/v1/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a run',
          parameters: [runId],
          responses: { '202': ok('Cancellation requested', CancelAcceptedSchema), ...errors(401, 403, 404, 409, 429) },
        },
      },
      '/v1/runs/{id}/takeover': {
        post: {
          summary: 'Complete a run by hand',
          parameters: [runId],
          requestBody: body(TakeoverRequestSchema),
          responses: {
            '200': ok('Completed with a human-provided result', TakeoverResultSchema),
            ...errors(400, 401, 403, 404, 409, 415, 429),
          },
        },
      },
      '/v1/runs/{id}/approvals/{approval_id}': {
        post: {
          summary: 'Decide a pending approval',
          parameters: [runId, { name: 'approval_id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: body(ApprovalDecisionRequestSchema),
          responses: { '200': ok('Decision recorded', DecisionResultSchema), ...errors(400, 401, 403, 404, 409, 415, 429) },
        },
      },
      '/v1/approvals': {
        get: {
          summary: 'Pending approvals the caller may decide',
          responses: { '200': ok('Approvals', ApprovalListSchema), ...errors(401, 429) },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'The tenant’s audit ledger, newest first (roles auditor, admin)',
          parameters: ['run_id', 'principal', 'since', 'until', 'limit'].map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string' },
          })),
          responses: { '200': ok('Audit entries', AuditListSchema), ...errors(400, 401, 403, 404, 429) },
        },
      },
      '/v1/runs/{id}/audit': {
        get: {
          summary: 'A run’s audit entries (roles auditor, admin)',
          parameters: [runId],
          responses: { '200': ok('Audit entries', AuditListSchema), ...errors(401, 403, 404, 429) },
        },
      },
      '/v1/budget': {
        get: {
          summary: 'The caller’s tenant’s model spend for a UTC day (default today) against its daily budget',
          parameters: [{ name: 'day', in: 'query', required: false, schema: { type: 'string', format: 'date' } }],
          responses: { '200': ok('Budget status', BudgetStatusSchema), ...errors(400, 401, 404, 429) },
        },
      },
      '/v1/policy': {
        get: {
          summary: 'The policy in force: hash, when loaded, files, the last failed reload (roles auditor, admin)',
          responses: { '200': ok('Policy status', PolicyStatusSchema), ...errors(401, 403, 404, 429) },
        },
      },
      '/v1/policy/reload': {
        post: {
          summary: 'Re-read the policies folder (role admin); runs already started keep their snapshot',
          responses: {
            '200': ok('The new policy is in force', PolicyReloadedSchema),
            '422': problem('A policy file is invalid (file:line in detail); the previous policy stays in force'),
            ...errors(401, 403, 404, 429),
          },
        },
      },
      '/v1/agents': {
        get: { summary: 'Agents and their versions', responses: { '200': ok('Agents', AgentListSchema), ...errors(401, 429) } },
      },
      '/gateway/dispatch': {
        post: {
          summary: 'Blueprint WorkRequest (alias of POST /v1/runs; task_id is the idempotency key)',
          requestBody: body(WorkRequestSchema),
          responses: {
            '202': ok('Run started', RunAcceptedSchema),
            '200': ok('Same task_id and body: the original run', RunAcceptedSchema),
            ...errors(400, 401, 403, 404, 409, 413, 415, 429),
          },
        },
      },
      '/healthz': { get: { summary: 'The process is up', security: [], responses: { '200': ok('Up', HealthSchema) } } },
      '/readyz': {
        get: {
          summary: 'Temporal reachable and a worker polling',
          security: [],
          responses: { '200': ok('Ready', ReadySchema), '503': ok('Not ready', ReadySchema) },
        },
      },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
