import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Keeps large payloads out of workflow history: content-addressed JSON files (sha256), written once.
 * A local folder here; in production, point it at shared storage every worker can read.
 */
export class FileBlobStore {
  constructor(private readonly dir: string) {}

  /** Stores the JSON text and returns its reference, `blob:sha256:<hex>`. Idempotent. */
  async put(json: string): Promise<string> {
    const hex = createHash('sha256').update(json).digest('hex');
    const file = path.join(this.dir, `${hex}.json`);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, json);
    await rename(tmp, file); // atomic: readers never see a half-written blob
    return `blob:sha256:${hex}`;
  }

  /** The JSON value behind a reference. */
  async get(ref: string): Promise<unknown> {
    const m = /^blob:sha256:([0-9a-f]{64})$/.exec(ref);
    if (!m) throw new Error(`not a blob reference: ${ref}`);
    return JSON.parse(await readFile(path.join(this.dir, `${m[1]}.json`), 'utf8')) as unknown;
  }
}
