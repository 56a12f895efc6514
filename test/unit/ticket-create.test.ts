import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToolRegistry } from '../../activities/tools';
import { createTicketCreateTool } from '../../activities/tools/ticket-create';
import { FileTicketStore, type NewTicket } from '../../activities/tools/ticket-store';
import type { ToolContext, ToolDefinition } from '../../activities/tools/tool';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';

interface Result {
  output: { ticket_id: string; created: boolean; priority: string; title: string };
  evidence: { source: string; excerpt: string }[];
}

let tmp: string;
let file: string;
let store: FileTicketStore;
let tool: ToolDefinition;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-tickets-'));
  // In a folder that does not exist yet: the store creates it on first write.
  file = path.join(tmp, 'data', 'tickets.jsonl');
  store = new FileTicketStore(file);
  tool = createTicketCreateTool(store);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const ctx = (step: number, run_id = 'run-1', signal = new AbortController().signal): ToolContext => ({ run_id, step, signal });
const create = async (args: Record<string, unknown>, c: ToolContext, t = tool): Promise<Result> =>
  (await t.execute(t.input.parse(args), c)) as Result;
const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const ticket = (title: string): NewTicket => ({ title, body: '', priority: 'normal', labels: [], run_id: 'run-x' });

describe('ticket_create: creates once per run and step', () => {
  test('creates a ticket in the store, with evidence citing it', async () => {
    const { output, evidence } = await create(
      { title: 'Disk full on db-1', body: 'df says 100%', priority: 'high', labels: ['ops'] },
      ctx(3),
    );
    expect(output).toEqual({ ticket_id: 'TCK-1', created: true, priority: 'high', title: 'Disk full on db-1' });
    expect(evidence).toEqual([{ source: 'ticket:TCK-1', excerpt: 'Disk full on db-1' }]);
    expect(lines()).toHaveLength(1);
    const stored = await store.get('TCK-1');
    expect(stored).toMatchObject({
      id: 'TCK-1',
      title: 'Disk full on db-1',
      body: 'df says 100%',
      priority: 'high',
      labels: ['ops'],
      idempotency_key: 'run-1:3',
      run_id: 'run-1',
    });
    expect(new Date(stored!.created_at).toISOString()).toBe(stored!.created_at);
    expect(await store.list()).toEqual([stored]);
    expect(await store.get('TCK-2')).toBeUndefined();
  });

  test('the same run_id and step again (a retry) returns the same ticket, created=false, and writes nothing', async () => {
    const first = await create({ title: 'Rotate the API key', body: '' }, ctx(2));
    const before = readFileSync(file, 'utf8');
    const again = await create({ title: 'Rotate the API key', body: '' }, ctx(2));
    expect(again.output).toEqual({ ...first.output, created: false });
    expect(again.evidence).toEqual(first.evidence);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(lines()).toHaveLength(1);
  });

  test('a retry is recognised by a fresh store on the same file (a new worker after a crash)', async () => {
    const first = await create({ title: 'Rotate the API key', body: '' }, ctx(2));
    const afterCrash = createTicketCreateTool(new FileTicketStore(file));
    const again = await create({ title: 'Rotate the API key', body: '' }, ctx(2), afterCrash);
    expect(again.output).toEqual({ ...first.output, created: false });
    expect(lines()).toHaveLength(1);
  });

  test('a different step, or another run with the same step, creates a new ticket', async () => {
    expect((await create({ title: 'One', body: '' }, ctx(2))).output).toMatchObject({ ticket_id: 'TCK-1', created: true });
    expect((await create({ title: 'Two', body: '' }, ctx(4))).output).toMatchObject({ ticket_id: 'TCK-2', created: true });
    expect((await create({ title: 'Three', body: '' }, ctx(2, 'run-2'))).output).toMatchObject({ ticket_id: 'TCK-3', created: true });
    expect(lines()).toHaveLength(3);
    expect((await store.list()).map((t) => t.idempotency_key)).toEqual(['run-1:2', 'run-1:4', 'run-2:2']);
  });

  test('20 concurrent creates with distinct keys: 20 distinct ids, 20 lines', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ title: `Ticket ${i}`, body: '' }, ctx(i + 1))));
    const ids = results.map((r) => r.output.ticket_id);
    expect(new Set(ids).size).toBe(20);
    expect(results.every((r) => r.output.created)).toBe(true);
    expect(lines()).toHaveLength(20);
    expect((await store.list()).map((t) => t.id).sort()).toEqual([...ids].sort());
  });

  test('10 concurrent creates with the same key from two store instances on one file: exactly one line', async () => {
    const a = createTicketCreateTool(new FileTicketStore(file));
    const b = createTicketCreateTool(new FileTicketStore(file));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => create({ title: 'Only once', body: '' }, ctx(7), i % 2 ? a : b)),
    );
    expect(lines()).toHaveLength(1);
    expect(new Set(results.map((r) => r.output.ticket_id))).toEqual(new Set(['TCK-1']));
    expect(results.filter((r) => r.output.created)).toHaveLength(1);
  });

  test('two store instances interleaving distinct keys never reuse an id', async () => {
    const a = new FileTicketStore(file);
    const b = new FileTicketStore(file);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create(ticket(`T${i}`), `k-${i}`)));
    expect(new Set(results.map((r) => r.ticket.id)).size).toBe(10);
    expect(lines()).toHaveLength(10);
  });
});

describe('ticket_create: schemas, signals, torn lines and registration', () => {
  test('its input schema rejects an empty title, an unknown field and priority "urgent", and applies defaults', () => {
    expect(tool.input.safeParse({ title: '', body: '' }).success).toBe(false);
    expect(tool.input.safeParse({ title: '   ', body: '' }).success).toBe(false);
    expect(tool.input.safeParse({ title: 'x'.repeat(201), body: '' }).success).toBe(false);
    expect(tool.input.safeParse({ title: 'ok', body: 'x'.repeat(10_001) }).success).toBe(false);
    expect(tool.input.safeParse({ title: 'ok', body: '', assignee: 'bob' }).success).toBe(false);
    expect(tool.input.safeParse({ title: 'ok', body: '', priority: 'urgent' }).success).toBe(false);
    expect(tool.input.safeParse({ title: 'ok', body: '', labels: Array.from({ length: 11 }, (_, i) => `l${i}`) }).success).toBe(false);
    expect(tool.input.parse({ title: ' ok ', body: 'b' })).toEqual({ title: 'ok', body: 'b', priority: 'normal', labels: [] });
  });

  test('its output passes its own output schema, created or not', async () => {
    const first = await create({ title: 'Check me', body: '' }, ctx(1));
    const again = await create({ title: 'Check me', body: '' }, ctx(1));
    expect(tool.output.safeParse(first.output).success).toBe(true);
    expect(tool.output.safeParse(again.output).success).toBe(true);
    expect(tool.output.safeParse({ ...first.output, extra: 1 }).success).toBe(false);
  });

  test('an aborted signal: it throws and nothing is written', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    await expect(create({ title: 'Never', body: '' }, ctx(1, 'run-1', controller.signal))).rejects.toThrow('run cancelled');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  test('a signal aborted while waiting for the file: nothing is written for that call', async () => {
    const controller = new AbortController();
    const first = store.create(ticket('First'), 'k-1');
    const second = store.create(ticket('Second'), 'k-2', { signal: controller.signal });
    controller.abort(new Error('timed out'));
    await expect(second).rejects.toThrow('timed out');
    await first;
    expect((await store.list()).map((t) => t.title)).toEqual(['First']);
  });

  test('a torn last line (a crash mid-write) is skipped and does not swallow the next ticket', async () => {
    await store.create(ticket('Whole'), 'k-1');
    writeFileSync(file, readFileSync(file, 'utf8') + '{"id":"TCK-2","tit', { flag: 'w' });
    const { ticket: next, created } = await store.create(ticket('After the crash'), 'k-2');
    expect(created).toBe(true);
    expect(next.id).toBe('TCK-2');
    expect((await store.list()).map((t) => t.title)).toEqual(['Whole', 'After the crash']);
  });

  test('is a write tool with the agreed settings', () => {
    expect(tool).toMatchObject({
      name: 'ticket_create',
      side_effect: 'write',
      max_classification: 'internal',
      timeout_ms: 10_000,
      max_attempts: 3,
    });
    expect(tool.description).toMatch(/stand-in/);
  });

  test('is registered, and the registry touches no file until a ticket is created', () => {
    const registry = createToolRegistry({ docsDir: path.join(tmp, 'docs'), ticketsFile: file, toolsDir: path.join(tmp, 'no-tools') });
    expect(registry.names()).toEqual(['docs_search', 'ticket_create']);
    expect(registry.spec('ticket_create')).toEqual({
      name: 'ticket_create',
      side_effect: 'write',
      max_classification: 'internal',
      timeout_ms: 10_000,
      max_attempts: 3,
    });
    expect(existsSync(path.dirname(file))).toBe(false);
  });
});

describe('TICKETS_FILE', () => {
  test('defaults to .data/tickets.jsonl under the project root; a relative value resolves against it', () => {
    expect(loadSettings({}).ticketsFile).toBe(path.join(PROJECT_ROOT, '.data', 'tickets.jsonl'));
    expect(loadSettings({ TICKETS_FILE: 'x/t.jsonl' }).ticketsFile).toBe(path.join(PROJECT_ROOT, 'x', 't.jsonl'));
    expect(loadSettings({ TICKETS_FILE: '/var/tmp/t.jsonl' }).ticketsFile).toBe('/var/tmp/t.jsonl');
  });
});
