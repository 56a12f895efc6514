import { AiSdkProvider, type CassetteSettings } from './ai-sdk';
import { openAIVendor } from './vendors';

/** Settings of a server speaking OpenAI's chat-completions protocol at a known base URL. */
export interface OpenAICompatibleOptions {
  /** Vendor base URL including the API version, as OpenAI's SDKs take it (OPENAI_BASE_URL), e.g. https://api.openai.com/v1. */
  baseUrl: string;
  /** Sent as a bearer token; local vendors (vLLM, Ollama) often need none. */
  apiKey?: string;
  /** Per-request limit in ms; defaults below the plan activity's 2-minute start-to-close timeout. */
  timeoutMs?: number;
  cassettes?: CassetteSettings;
}

/**
 * The `openai` provider pointed at one base URL: OpenAI itself, or any proxy or server speaking its
 * chat-completions protocol. Built on the AI SDK like every vendor (see ai-sdk.ts).
 */
export class OpenAICompatibleProvider extends AiSdkProvider {
  constructor(options: OpenAICompatibleOptions) {
    super(openAIVendor({ ...options, keyVariable: 'OPENAI_API_KEY' }));
  }
}
