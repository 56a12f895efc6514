import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Mutex } from 'async-mutex';
import { z } from 'zod';

export const TICKET_PRIORITIES = ['low', 'normal', 'high'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const TicketSchema = z
  .object({
    id: z.string().regex(/^TCK-\d+$/),
    title: z.string(),
    body: z.string(),
    priority: z.enum(TICKET_PRIORITIES),
    labels: z.array(z.string()),
    created_at: z.iso.datetime(),
    idempotency_key: z.string().min(1),
    run_id: z.string(),
  })
  .strict();
export type Ticket = z.infer<typeof TicketSchema>;

/** What a caller supplies; the store adds the id, the creation time and the idempotency key. */
export interface NewTicket {
  title: string;
  body: string;
  priority: TicketPriority;
  labels: string[];
  /** The run that asked for the ticket. */
  run_id: string;
}

export interface FileTicketStoreOptions {
  /** Clock for `created_at`; tests pin it. */
  now?: () => Date;
}

/**
 * One mutex per file (by absolute path) for the whole process, so that every store instance on the
 * same file takes turns: read the file, decide, append. Without it, two instances could both see
 * "no ticket for this key" and both append. A mutex nobody holds or waits for is dropped, so the map
 * does not grow with every file a process ever touched.
 */
const locks = new Map<string, Mutex>();

async function serialized<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = locks.get(file) ?? new Mutex();
  locks.set(file, lock);
  try {
    return await lock.runExclusive(fn);
  } finally {
    if (!lock.isLocked()) locks.delete(file);
  }
}

/**
 * A local ticket store: a **stand-in for a real ticketing system** (Jira, ServiceNow) so the
 * platform's first write tool, `ticket_create`, has a backend that needs no account or network.
 *
 * Tickets are lines of an append-only JSON Lines file. `create` is idempotent: a second call with an
 * idempotency key already in the file returns the ticket created the first time and writes nothing,
 * so an activity retry, or a worker killed after the write but before Temporal recorded the result,
 * never creates a duplicate. Ids are a per-file sequence (`TCK-1`, `TCK-2`, …).
 *
 * Concurrency: calls are serialized per file across every instance in this process, the file is
 * re-read before each write, and each ticket is one `O_APPEND` write of one line. Two *processes*
 * writing the same file are not coordinated (a real ticketing system does that on its side).
 */
export class FileTicketStore {
  readonly file: string;
  private readonly now: () => Date;

  constructor(file: string, options: FileTicketStoreOptions = {}) {
    this.file = path.resolve(file);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Creates a ticket, or returns the one already created with this idempotency key (`created: false`,
   * nothing written). Throws the signal's reason if it is aborted before the write.
   */
  async create(
    input: NewTicket,
    idempotencyKey: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ ticket: Ticket; created: boolean }> {
    if (!idempotencyKey) throw new Error('an idempotency key is required');
    options.signal?.throwIfAborted();
    return serialized(this.file, async () => {
      const text = await this.readText();
      const tickets = parseTickets(text);
      const existing = tickets.find((t) => t.idempotency_key === idempotencyKey);
      if (existing) return { ticket: existing, created: false };

      const next = tickets.reduce((max, t) => Math.max(max, Number(t.id.slice(4))), 0) + 1;
      const ticket: Ticket = TicketSchema.parse({
        id: `TCK-${next}`,
        title: input.title,
        body: input.body,
        priority: input.priority,
        labels: [...input.labels],
        created_at: this.now().toISOString(),
        idempotency_key: idempotencyKey,
        run_id: input.run_id,
      });
      // Last chance to back out: once the line is appended, the ticket exists.
      options.signal?.throwIfAborted();
      // A torn last line (no newline, left by a crash mid-write) must not swallow this ticket.
      const torn = text.length > 0 && !text.endsWith('\n');
      await this.append(`${torn ? '\n' : ''}${JSON.stringify(ticket)}\n`);
      return { ticket, created: true };
    });
  }

  /** Every ticket in the file, oldest first. */
  async list(): Promise<Ticket[]> {
    return parseTickets(await this.readText());
  }

  async get(id: string): Promise<Ticket | undefined> {
    return (await this.list()).find((t) => t.id === id);
  }

  private async readText(): Promise<string> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }

  /** One `O_APPEND` write of one line, flushed to disk before the ticket counts as created. */
  private async append(line: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const bytes = Buffer.from(line, 'utf8');
    const handle = await open(this.file, 'a');
    try {
      const { bytesWritten } = await handle.write(bytes);
      if (bytesWritten !== bytes.length) throw new Error(`short write to ${this.file}: ${bytesWritten} of ${bytes.length} bytes`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}

/**
 * The tickets of a JSON Lines text. A line that is not a valid ticket (a write torn by a crash) is
 * skipped; for a key that appears twice, the first line wins.
 */
function parseTickets(text: string): Ticket[] {
  const seen = new Set<string>();
  const tickets: Ticket[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      continue;
    }
    const parsed = TicketSchema.safeParse(json);
    if (!parsed.success || seen.has(parsed.data.idempotency_key)) continue;
    seen.add(parsed.data.idempotency_key);
    tickets.push(parsed.data);
  }
  return tickets;
}
