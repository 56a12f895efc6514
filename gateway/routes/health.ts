import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import type { Router } from 'express';
import type { Gateway } from '../context';
import { HealthSchema, ReadySchema } from '../api-schemas';
import { errors, ok, type RouteTable } from './declare';

/** The routes that need no credential: liveness, readiness and the OpenAPI document. */
export function healthRoutes(table: RouteTable, router: Router, gw: Gateway, document: () => unknown): void {
  const { client, namespace } = gw.runs;
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
    (_req, res) => {
      res.json({ status: 'ok' });
    },
  );

  table.route(
    router,
    {
      method: 'get',
      path: '/readyz',
      summary: 'Temporal reachable and a worker polling',
      security: [],
      responses: { '200': ok('Ready', ReadySchema), '503': ok('Not ready', ReadySchema), ...errors(405) },
    },
    async (_req, res) => {
      const checks: Record<string, string> = {};
      try {
        await client.withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}));
        checks.temporal = 'ok';
        const tq = await client.withDeadline(Date.now() + 3000, () =>
          client.workflowService.describeTaskQueue({
            namespace,
            taskQueue: { name: taskQueue },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          }),
        );
        checks.worker = (tq.pollers?.length ?? 0) > 0 ? 'ok' : `no worker polling task queue ${taskQueue}`;
      } catch (err) {
        checks.temporal ??= `unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      const ready = checks.temporal === 'ok' && checks.worker === 'ok';
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
    (_req, res) => {
      res.json(document());
    },
  );
}
