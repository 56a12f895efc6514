// The model vendor unreachable for a while: an openai-compatible agent's endpoint is the fake OpenAI
// chat-completions vendor (a real HTTP server), stopped with runs in flight (its port closed, answers it
// was about to send dropped) and started again on the same port. Temporal retries each plan activity
// until the vendor answers: every accepted run completes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PROJECT_ROOT } from '../../config/settings';
import { eventually } from './processes';
import { startFakeLlmVendor, type FakeLlmRequest, type FakeLlmVendor } from '../fakes/openai-vendor';
import { accepted, drillResult, type DrillResult, type Stack } from './stack';

const AGENT = 'ollama-researcher';

/** Answers every plan call with a final answer, a little later (so some are in flight at the stop). */
function script(vendor: FakeLlmVendor): FakeLlmVendor {
  vendor.respondWith(() => ({
    delayMs: 2000,
    toolCalls: [{ name: 'final_answer', args: { result: { summary: 'answered after the outage', findings: [] }, reason: 'drill' } }],
  }));
  return vendor;
}

/**
 * The worker and the gateway restarted with one agent, the example agents/examples/ollama-researcher
 * (provider openai-compatible, endpoint ollama) allowed 10 model attempts, and an endpoints file whose
 * `ollama` is the fake vendor.
 */
async function useVendor(s: Stack, vendor: FakeLlmVendor): Promise<void> {
  const agents = path.join(s.dir, 'agents');
  mkdirSync(path.join(agents, AGENT), { recursive: true });
  const def = parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', 'examples', AGENT, 'agent.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  // Three attempts (the default) span 3 s of backoff; ten span minutes, more than the outage.
  writeFileSync(path.join(agents, AGENT, 'agent.yaml'), stringifyYaml({ ...def, model_max_attempts: 10 }));
  const endpoints = path.join(s.dir, 'model-endpoints.yaml');
  writeFileSync(endpoints, stringifyYaml({ endpoints: { ollama: { base_url: vendor.url } } }));
  await s.restartWith({ AGENTS_DIR: agents, MODEL_ENDPOINTS_FILE: endpoints });
}

/** How many plan calls the vendor answered for each drill run (by the marker in its task). */
function answeredPerRun(requests: FakeLlmRequest[]): number[] {
  const byRun = new Map<string, number>();
  for (const r of requests.filter((q) => !q.disconnected)) {
    const marker = /\[vendor-outage run (\d+)\]/.exec(r.body.messages.map((m) => m.content).join('\n'))?.[1];
    if (marker !== undefined) byRun.set(marker, (byRun.get(marker) ?? 0) + 1);
  }
  return [...byRun.values()];
}

export async function vendorOutage(s: Stack, size: { runs: number; downSeconds: number }): Promise<DrillResult> {
  let vendor = script(await startFakeLlmVendor());
  const port = Number(new URL(vendor.url).port);
  const requests: FakeLlmRequest[] = [];
  try {
    await useVendor(s, vendor);
    const dispatch = (from: number) =>
      Promise.all(
        Array.from({ length: size.runs / 2 }, (_, i) => s.dispatch(AGENT, `How are runs recorded? [vendor-outage run ${from + i}]`)),
      );
    const first = await dispatch(0);
    // Stopped once plan calls are arriving: the ones it is still answering are cut.
    await eventually(async () => (vendor.requests.length >= Math.max(1, size.runs / 4) ? true : undefined), 60_000, 'plan calls');
    await vendor.close();
    requests.push(...vendor.requests);
    const cut = requests.filter((q) => q.disconnected).length;
    const answeredBefore = requests.length - cut;
    const second = await dispatch(size.runs / 2);
    await new Promise((r) => setTimeout(r, size.downSeconds * 1000));
    vendor = script(await startFakeLlmVendor(port));
    const sent = first.length + second.length;
    const ids = accepted([...first, ...second]);
    const counts = await s.settle(ids, 240_000);
    requests.push(...vendor.requests);
    const answered = answeredPerRun(requests);
    // The agent only reads (docs_search): no effect to repeat. A plan call answered twice for one run
    // would be a repeated (billed) model call; the note counts them.
    return drillResult('vendor-outage', ids, counts, {
      notes: [
        `openai-compatible agent on the fake vendor; ${first.length} runs dispatched, vendor stopped after answering ${answeredBefore} plan calls (${cut} cut in flight), ${second.length} more dispatched, down ${size.downSeconds} s, back on port ${port}`,
        `accepted ${ids.length} of ${sent}; failed ${counts.failed}, still running ${counts.running}; plan calls the vendor answered: ${answered.reduce((a, b) => a + b, 0)} for ${answered.length} runs (most for one run: ${Math.max(0, ...answered)})`,
      ],
    });
  } finally {
    await vendor.close().catch(() => undefined);
  }
}
