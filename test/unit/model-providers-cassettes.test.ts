import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CASSETTE_FORMAT, cassetteHash } from '../../activities/model/cassettes';
import { openAIProvider } from '../../activities/model/vendors';
import { ErrorCode } from '../../contracts/errors';
import { startFakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { agentFor, failureOf, KEY, request } from '../support/model-provider-fixtures';

// Model cassettes: recording a provider's exchange with the fake vendor and replaying it without the vendor.

describe('cassettes', () => {
  test('record writes the exchange without secrets; replay answers with the vendor stopped; a changed prompt is a miss naming the nearest request', async () => {
    const dir = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'cassettes-'));
    const vendor = await startFakeLlmVendor();
    const agent = agentFor({ provider: 'openai', name: 'gpt-test' }, { instructions: `Triage. Never print ${KEY}.` });
    vendor.respondWith(() => ({
      toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }],
      usage: { prompt_tokens: 40, completion_tokens: 4 },
    }));
    const recorder = openAIProvider({ baseUrl: vendor.url, apiKey: KEY, cassettes: { mode: 'record', dirFor: (a) => path.join(dir, a) } });
    const recorded = await recorder.plan(request(agent));
    await vendor.close();
    expect(recorded.call?.cassette).toBe('recorded');
    const files = readdirSync(path.join(dir, 'triager'));
    expect(files).toHaveLength(1);
    const text = readFileSync(path.join(dir, 'triager', files[0]!), 'utf8');
    expect(text).not.toContain(KEY);
    const cassette = JSON.parse(text) as { hash: string; request: { provider: string; model: string; tools: unknown[] } };
    expect(cassette.request).toMatchObject({ provider: 'openai', model: 'gpt-test' });
    expect(cassette.request.tools).toHaveLength(2);
    expect(files[0]).toBe(`${cassette.hash.slice(0, 16)}.json`);

    const replayer = openAIProvider({ baseUrl: vendor.url, apiKey: KEY, cassettes: { mode: 'replay', dirFor: (a) => path.join(dir, a) } });
    const replayed = await replayer.plan(request(agent));
    expect(replayed.action).toEqual(recorded.action);
    expect(replayed.usage).toEqual(recorded.usage);
    expect(replayed.call?.cassette).toBe('replayed');

    const miss = await failureOf(replayer.plan({ ...request(agent), task: 'A different task' }));
    expect(miss).toMatchObject({ type: ErrorCode.ModelCassetteMiss, nonRetryable: true });
    expect(miss.message).toMatch(
      new RegExp(
        `no cassette for request [0-9a-f]{16} .*nearest recorded request is ${cassette.hash.slice(0, 16)}, which differs at prompt\\[1\\]`,
      ),
    );
  });
});

test('a cassette recorded before observations went back as tool calls (format 1) misses with a message to re-record', async () => {
  const dir = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'cassettes-'));
  const vendor = await startFakeLlmVendor();
  const agent = agentFor({ provider: 'openai', name: 'gpt-test' });
  vendor.respondWith(() => ({ toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }] }));
  const settings = (mode: 'record' | 'replay') => ({ mode, dirFor: (a: string) => path.join(dir, a) });
  await openAIProvider({ baseUrl: vendor.url, apiKey: KEY, cassettes: settings('record') }).plan(request(agent));
  await vendor.close();
  // What the same exchange looked like on disk before: no format field, so another hash and file name.
  const [file] = readdirSync(path.join(dir, 'triager'));
  const cassette = JSON.parse(readFileSync(path.join(dir, 'triager', file!), 'utf8')) as { hash: string; request: Record<string, unknown> };
  expect(cassette.request.format).toBe(CASSETTE_FORMAT);
  delete cassette.request.format;
  cassette.hash = cassetteHash(cassette.request);
  rmSync(path.join(dir, 'triager', file!));
  writeFileSync(path.join(dir, 'triager', `${cassette.hash.slice(0, 16)}.json`), JSON.stringify(cassette));

  const replayer = openAIProvider({ baseUrl: vendor.url, apiKey: KEY, cassettes: settings('replay') });
  const miss = await failureOf(replayer.plan(request(agent)));
  expect(miss).toMatchObject({ type: ErrorCode.ModelCassetteMiss, nonRetryable: true });
  expect(miss.message).toMatch(/recorded in cassette format 1 .* this worker sends format 2 .*Record again with MODEL_CASSETTES=record/);
});
