import { googleProvider } from '../../activities/model/vendors';
import { ErrorCode } from '../../contracts/errors';
import { startFakeGoogleVendor } from '../support/fakes/google-vendor';
import { agentFor, failureOf, KEY, observation, request } from '../support/model-provider-fixtures';

// The Google provider over real HTTP against the fake vendor (test/support/fakes/google-vendor.ts).

describe('google (generateContent with function calls)', () => {
  test('function declarations from the tool contracts; a function call comes back as the action; without tools the answer schema is the response schema', async () => {
    const vendor = await startFakeGoogleVendor();
    try {
      vendor.requireApiKey(KEY);
      vendor.respondWith(() => ({
        toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }],
        usage: { prompt_tokens: 80, completion_tokens: 8 },
      }));
      const provider = googleProvider({ baseUrl: vendor.url, apiKey: KEY, keyVariable: 'GOOGLE_GENERATIVE_AI_API_KEY' });
      const result = await provider.plan(request(agentFor({ provider: 'google', name: 'gemini-test' })));
      const { body } = vendor.requests[0]!;
      expect(body.model).toBe('gemini-test');
      expect(body.tools![0]!.functionDeclarations!.map((f) => f.name)).toEqual(['ticket_lookup', 'docs_search', 'final_answer']);
      expect(result.action).toEqual({ type: 'tool_call', tool: 'docs_search', args: { query: 'timeouts' }, reason: '' });
      expect(result.usage).toMatchObject({ input_tokens: 80, output_tokens: 8 });

      vendor.respondWith(() => ({ content: { type: 'final', result: { answer: 'ok' }, reason: 'done' } }));
      const bare = agentFor({ provider: 'google', name: 'gemini-test' }, { tools: [] });
      const final = await provider.plan(request({ ...bare, tools: {} }));
      expect(vendor.requests[1]!.body.tools).toBeUndefined();
      expect(vendor.requests[1]!.body.generationConfig).toMatchObject({ responseMimeType: 'application/json' });
      expect(final.action).toEqual({ type: 'final', result: { answer: 'ok' }, reason: 'done' });

      vendor.respondWith(() => ({ status: 503 }));
      expect(await failureOf(provider.plan(request(bare)))).toMatchObject({ type: ErrorCode.ModelUnavailable, nonRetryable: false });
    } finally {
      await vendor.close();
    }
  });

  test('an observation goes back as the functionCall and its functionResponse', async () => {
    const vendor = await startFakeGoogleVendor();
    try {
      vendor.respondWith(() => ({ toolCalls: [{ name: 'final_answer', args: { result: { answer: 'ok' }, reason: 'done' } }] }));
      const provider = googleProvider({ baseUrl: vendor.url, apiKey: KEY, keyVariable: 'GOOGLE_GENERATIVE_AI_API_KEY' });
      await provider.plan(request(agentFor({ provider: 'google', name: 'gemini-test' }), [observation]));
      const { contents } = vendor.requests[0]!.body;
      expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
      expect(contents[1]!.parts).toEqual([
        expect.objectContaining({ functionCall: expect.objectContaining({ name: 'ticket_lookup', args: observation.args }) }),
      ]);
      expect(contents[2]!.parts).toEqual([
        expect.objectContaining({ functionResponse: expect.objectContaining({ name: 'ticket_lookup' }) }),
      ]);
      expect(JSON.stringify(contents[2])).toContain('Run timed out after 600 s');
    } finally {
      await vendor.close();
    }
  });
});
