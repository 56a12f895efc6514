import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AiSdkProvider, type CassetteSettings, type VendorOptions } from './ai-sdk';

/** Where one vendor is and the key for it (read from the environment by config/models.ts). */
export interface VendorSettings {
  /** Base URL including the API version, as the vendor's SDK takes it; the SDK's default when unset. */
  baseUrl?: string;
  apiKey?: string;
  /** The environment variable the key came from, named when the vendor refuses it. */
  keyVariable?: string;
  /** Per-request limit in ms (default 90 s). */
  timeoutMs?: number;
  cassettes?: CassetteSettings;
}

/** A named OpenAI-compatible endpoint from config/model-endpoints.yaml. */
export interface EndpointSettings {
  baseUrl: string;
  apiKey?: string;
  keyVariable?: string;
  /** The server honours `response_format: json_schema`. */
  structuredOutputs: boolean;
}

/**
 * Keyless servers (a local Ollama, a proxy that adds the key) must not get an empty bearer token;
 * the SDKs always send one, so drop it on the way out.
 */
function withoutEmptyBearer(fetchImpl: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    if (headers.get('authorization')?.trim() === 'Bearer') headers.delete('authorization');
    return fetchImpl(input, { ...init, headers });
  };
}

/** The providerOptions key the openai-compatible SDK reads for an endpoint name (its toCamelCase). */
const camelCase = (name: string) => name.replace(/[_-]([a-z])/g, (g) => g[1]!.toUpperCase());

const secretsOf = (...keys: (string | undefined)[]) => keys.filter((k): k is string => Boolean(k));

/** OpenAI's chat-completions API (or a server speaking it at `baseUrl`); structured outputs alongside tools. */
export function openAIVendor(s: VendorSettings): VendorOptions {
  // The key is passed explicitly (empty when absent) so the SDK never reads the environment itself.
  const openai = createOpenAI({ baseURL: s.baseUrl, apiKey: s.apiKey ?? '', fetch: withoutEmptyBearer() });
  return {
    kind: 'openai',
    model: (m) => openai.chat(m.name),
    structuredOutputs: () => true,
    keyVariable: () => s.keyVariable,
    secrets: secretsOf(s.apiKey),
    // One tool call per turn (the platform runs one at a time), sent only with tools (OpenAI refuses it
    // without); output_spec is any JSON Schema, not only strict-mode ones.
    providerOptions: (_m, hasTools) => ({ openai: { ...(hasTools ? { parallelToolCalls: false } : {}), strictJsonSchema: false } }),
    timeoutMs: s.timeoutMs,
    cassettes: s.cassettes,
  };
}

/** The `openai` provider. */
export function openAIProvider(s: VendorSettings): AiSdkProvider {
  return new AiSdkProvider(openAIVendor(s));
}

/** Anthropic's messages API; the answer schema goes as a final_answer tool. */
export function anthropicProvider(s: VendorSettings): AiSdkProvider {
  const anthropic = createAnthropic({ baseURL: s.baseUrl, apiKey: s.apiKey ?? '' });
  return new AiSdkProvider({
    kind: 'anthropic',
    model: (m) => anthropic(m.name),
    structuredOutputs: () => false,
    keyVariable: () => s.keyVariable,
    secrets: secretsOf(s.apiKey),
    providerOptions: () => ({ anthropic: { disableParallelToolUse: true } }),
    // Anthropic requires max_tokens; the same 1024 the workflow reserves budget for when unset.
    defaultMaxOutputTokens: 1024,
    timeoutMs: s.timeoutMs,
    cassettes: s.cassettes,
  });
}

/** Google's Gemini API; a response schema without tools, a final_answer tool with them. */
export function googleProvider(s: VendorSettings): AiSdkProvider {
  const google = createGoogleGenerativeAI({ baseURL: s.baseUrl, apiKey: s.apiKey ?? '' });
  return new AiSdkProvider({
    kind: 'google',
    model: (m) => google(m.name),
    // Gemini models differ on response schemas combined with function calling; a tool works on all.
    structuredOutputs: (_m, hasTools) => !hasTools,
    keyVariable: () => s.keyVariable,
    secrets: secretsOf(s.apiKey),
    timeoutMs: s.timeoutMs,
    cassettes: s.cassettes,
  });
}

/** Any OpenAI-compatible server (Ollama, vLLM, LM Studio, LiteLLM, Azure OpenAI), by endpoint name. */
export function openAICompatibleProvider(
  endpoints: Record<string, EndpointSettings>,
  options: { timeoutMs?: number; cassettes?: CassetteSettings } = {},
): AiSdkProvider {
  const clients = Object.fromEntries(
    Object.entries(endpoints).map(([name, e]) => [
      name,
      createOpenAICompatible({
        name,
        baseURL: e.baseUrl,
        ...(e.apiKey ? { apiKey: e.apiKey } : {}),
        supportsStructuredOutputs: e.structuredOutputs,
        includeUsage: true,
      }),
    ]),
  );
  const endpointOf = (name: string | undefined) => {
    const client = name ? clients[name] : undefined;
    // The worker checks every agent's endpoint at start; this guards a definition that bypassed it.
    if (!client) throw new Error(`unknown openai-compatible endpoint "${name}" (have: ${Object.keys(clients).join(', ') || 'none'})`);
    return { client, settings: endpoints[name!]! };
  };
  return new AiSdkProvider({
    kind: 'openai-compatible',
    model: (m) => endpointOf(m.endpoint).client(m.name),
    structuredOutputs: (m) => endpointOf(m.endpoint).settings.structuredOutputs,
    keyVariable: (m) => endpointOf(m.endpoint).settings.keyVariable,
    secrets: secretsOf(...Object.values(endpoints).map((e) => e.apiKey)),
    // The SDK passes the options under the endpoint's (camelCased) name through to the body as they
    // are: the chat-completions field itself, one tool call per turn as for OpenAI (only with tools).
    providerOptions: (m, hasTools) => (hasTools && m.endpoint ? { [camelCase(m.endpoint)]: { parallel_tool_calls: false } } : {}),
    timeoutMs: options.timeoutMs,
    cassettes: options.cassettes,
  });
}
