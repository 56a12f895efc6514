import { z } from 'zod';
import type { Router } from 'express';
import type { Gateway } from '../context';
import { HealthSchema, ReadySchema } from '../api-schemas';
import { errors, ok, type RouteTable } from './declare';
import { readiness } from '../readiness';
import { exposition } from '../../observability/metrics';

/** The routes that need no credential: liveness, readiness and the OpenAPI document. */
export function healthRoutes(table: RouteTable, router: Router, gw: Gateway, document: () => unknown): void {
  const { client } = gw.runs;
  const taskQueue = gw.deps.taskQueue;
  table.route(
    router,
    {
      method: 'get',
      path: '/healthz',
      summary: 'The process is up',
      security: [],
      responses: { '200': ok('Up', HealthSchema), ...errors(405) },
    },
    (_input, res) => {
      res.json({ status: 'ok' });
    },
  );

  table.route(
    router,
    {
      method: 'get',
      path: '/readyz',
      summary: 'Temporal, the governance store and a live worker answer',
      security: [],
      responses: { '200': ok('Ready', ReadySchema), '503': ok('Not ready', ReadySchema), ...errors(405) },
    },
    async (_input, res) => {
      const { ready, checks } = await readiness({ client, taskQueue, ...(gw.deps.audit ? { governance: gw.deps.audit } : {}) });
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  table.route(
    router,
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This document',
      security: [],
      responses: { '200': ok('OpenAPI 3.1', z.record(z.string(), z.unknown())), ...errors(405) },
    },
    (_input, res) => {
      res.json(document());
    },
  );

  // Prometheus scrapes without a credential: the metrics carry no run ids, tenants' data or free text.
  table.route(
    router,
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics of this gateway (docs/observability.md)',
      security: [],
      responses: {
        '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
        ...errors(405),
      },
    },
    async (_input, res) => {
      res.type(gw.metrics.registry.contentType).send(await exposition(gw.metrics.registry));
    },
  );
}
