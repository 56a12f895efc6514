// A small Server-Sent Events client for tests: reads a stream frame by frame over real HTTP (fetch),
// keeps the events and comments it saw, and can be cut off mid-stream like a dropped connection.

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

export interface SseWatcher {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: string[];
  /** Resolves once `until` holds for the events so far (or the stream ended: then it rejects unless it holds). */
  waitFor(until: (events: SseEvent[]) => boolean): Promise<SseEvent[]>;
  /** The body when the answer was not a stream (a problem+json). */
  problem?: Record<string, unknown>;
  /** Drops the connection. */
  close(): void;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
}

function parseFrame(block: string): { event?: SseEvent; comment?: string } {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) return { comment: line.slice(1).trim() };
    const [field, ...rest] = line.split(':');
    const value = rest.join(':').replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return {};
  return { event: { id, event, data: JSON.parse(data.join('\n')) as Record<string, unknown> } };
}

/** Opens `url` as an event stream with the given headers. */
export async function watch(url: string, headers: Record<string, string>): Promise<SseWatcher> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  let done = false;
  const w: SseWatcher = {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    close: () => abort.abort(),
    ended: Promise.resolve(),
    waitFor: async (until) => {
      while (!until(events)) {
        if (done) throw new Error(`stream ended before the condition held; saw ${events.map((e) => `${e.id}:${e.event}`).join(', ')}`);
        await new Promise<void>((r) => waiters.push(r));
      }
      return events;
    },
  };
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    w.problem = (await res.json()) as Record<string, unknown>;
    done = true;
    return w;
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  w.ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const parsed = parseFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (parsed.event) events.push(parsed.event);
          if (parsed.comment !== undefined) comments.push(parsed.comment);
          notify();
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      done = true;
      notify();
    }
  })();
  return w;
}
