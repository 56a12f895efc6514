import { contentText, startFakeVendor, type FakeVendor, type Protocol } from '../../../scripts/fakes/http-vendor';

/*
 * TEST FAKE of Google's Gemini API: a real HTTP server on 127.0.0.1 speaking
 * `POST /v1beta/models/<model>:generateContent` (x-goog-api-key, functionCall parts, Google's error
 * shape). Answers are scripted by the test.
 */

type Part = { text?: string; functionCall?: { name: string; args: unknown }; [key: string]: unknown };

/** The part of a generateContent request the fake looks at; `model` comes from the URL. */
export interface GenerateContentBody {
  model: string;
  contents: { role: string; parts: Part[] }[];
  systemInstruction?: { parts: Part[] };
  tools?: { functionDeclarations?: { name: string; description?: string; parametersJsonSchema?: Record<string, unknown> }[] }[];
  toolConfig?: unknown;
  generationConfig?: { responseMimeType?: string; responseJsonSchema?: unknown; responseSchema?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const partsText = (parts: Part[] | undefined) => (parts ?? []).map((p) => p.text ?? JSON.stringify(p)).join('');
const MODEL_PATH = /^\/v1beta\/models\/([^/:]+):generateContent$/;

const googleProtocol: Protocol<GenerateContentBody> = {
  matches: (method, path) => method === 'POST' && MODEL_PATH.test(path),
  parse(json, path) {
    const b = json as GenerateContentBody;
    if (!b || !Array.isArray(b.contents)) return '* GenerateContentRequest.contents: contents is not specified';
    return { ...b, model: decodeURIComponent(MODEL_PATH.exec(path)![1]!) };
  },
  key: (headers) => (typeof headers['x-goog-api-key'] === 'string' ? headers['x-goog-api-key'] : undefined),
  promptText: (body) => partsText(body.systemInstruction?.parts) + body.contents.map((c) => partsText(c.parts)).join(''),
  defaultAnswer: () => ({
    toolCalls: [{ name: 'final_answer', args: { result: { echo: 'fake' }, reason: 'fake vendor default answer' } }],
  }),
  success(body, answer, tokens) {
    const said = contentText(answer);
    const calls = answer.toolCalls ?? [];
    return {
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              ...(said !== undefined ? [{ text: said }] : []),
              ...calls.map((c) => ({ functionCall: { name: c.name, args: c.args } })),
            ],
          },
          finishReason: answer.finishReason ?? 'STOP',
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: tokens.prompt,
        candidatesTokenCount: tokens.completion,
        totalTokenCount: tokens.prompt + tokens.completion,
      },
      modelVersion: body.model,
    };
  },
  error: (status, message) => ({ error: { code: status, message: message ?? `Error ${status}`, status: STATUS[status] ?? 'UNKNOWN' } }),
};

/** Starts the TEST FAKE of the Gemini API; `url` ends in /v1beta, as the SDK's baseURL takes it. */
export async function startFakeGoogleVendor(): Promise<FakeVendor<GenerateContentBody>> {
  return startFakeVendor(googleProtocol, '/v1beta');
}
