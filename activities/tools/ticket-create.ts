import { z } from 'zod';
import { defineTool, LOCAL_WRITE_TOOL, type ToolDefinition } from './tool';
import { TICKET_PRIORITIES, type FileTicketStore } from './ticket-store';

const Input = z
  .object({
    title: z.string().trim().min(1).max(200),
    body: z.string().max(10_000),
    priority: z.enum(TICKET_PRIORITIES).default('normal'),
    labels: z.array(z.string().trim().min(1).max(50)).max(10).default([]),
  })
  .strict();

const Output = z
  .object({
    ticket_id: z.string(),
    /** false when this run step had already created the ticket (a retry): nothing new was written. */
    created: z.boolean(),
    priority: z.enum(TICKET_PRIORITIES),
    title: z.string(),
  })
  .strict();

/**
 * `ticket_create`: the platform's first write tool. Opens a ticket in the ticket store, which today
 * is {@link FileTicketStore}, a local stand-in for a real ticketing system (Jira, ServiceNow).
 *
 * Idempotent per run step: the key is `<run_id>:<step>`, so a retried activity, or a worker killed
 * after the write but before its result was recorded, returns the ticket already created instead
 * of opening a second one.
 */
export function createTicketCreateTool(store: FileTicketStore): ToolDefinition {
  return defineTool<z.infer<typeof Input>, z.infer<typeof Output>>({
    name: 'ticket_create',
    description:
      'Create a ticket (title, body, priority low/normal/high, labels) in the ticket store, a local stand-in for a ticketing system such as Jira or ServiceNow. Idempotent per run step.',
    input: Input,
    output: Output,
    ...LOCAL_WRITE_TOOL,
    async execute(args, ctx) {
      ctx.signal.throwIfAborted();
      const { ticket, created } = await store.create({ ...args, run_id: ctx.run_id }, `${ctx.run_id}:${ctx.step}`, { signal: ctx.signal });
      return {
        output: { ticket_id: ticket.id, created, priority: ticket.priority, title: ticket.title },
        evidence: [{ source: `ticket:${ticket.id}`, excerpt: ticket.title }],
      };
    },
  });
}
