// Steady dispatch load through the gateway, every request sent twice with the same Idempotency-Key (a
// client retrying): every accepted run id exists and completes, and each key started one run. A request
// the gateway refuses (an error status the caller sees) is not lost: the caller knows to retry it.
import { randomUUID } from 'node:crypto';
import { accepted, drillResult, type DrillResult, type Stack } from './stack';

export async function steadyLoad(s: Stack, size: { rate: number; seconds: number }): Promise<DrillResult> {
  const sent: Promise<{ key: string; ids: (string | undefined)[] }>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < size.rate * size.seconds; i++) {
    const wait = t0 + (i * 1000) / size.rate - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const key = randomUUID();
    const once = () => s.dispatch('docs-researcher', `load ${i}`, {}, { 'idempotency-key': key }).catch(() => undefined);
    // The retry goes out while the first request may still be in flight.
    sent.push(Promise.all([once(), once()]).then((ids) => ({ key, ids })));
  }
  const answers = await Promise.all(sent);
  const started = new Set<string>();
  let duplicated = 0;
  for (const a of answers) {
    const distinct = new Set(accepted(a.ids));
    duplicated += Math.max(0, distinct.size - 1);
    distinct.forEach((id) => started.add(id));
  }
  const ids = [...started];
  const counts = await s.settle(ids, 180_000);
  const refused = answers.filter((a) => a.ids.every((id) => id === undefined)).length;
  return drillResult('load', ids, counts, {
    duplicated,
    notes: [
      `${size.rate}/s for ${size.seconds} s (${answers.length} keys), each request sent twice with one Idempotency-Key`,
      `accepted ${ids.length} runs; refused both times (an error the caller sees, 503/500): ${refused}; missing ${counts.missing}, still running ${counts.running}, failed ${counts.failed}`,
    ],
  });
}
