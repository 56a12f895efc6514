import { z } from 'zod';
import { ConfigError, type Settings } from '../config/settings';
import { readYamlFile } from '../config/yaml-file';
import type { ApiKeyEntry, AuthSettings } from './auth';
import { devApiKeys } from './dev-principals';

const KeyFileSchema = z
  .object({
    keys: z.array(
      z
        .object({
          sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the key (sha256sum), never the key'),
          subject: z.string().min(1),
          tenant: z.string().min(1),
          roles: z.array(z.string().min(1)).default([]),
        })
        .strict(),
    ),
  })
  .strict();

/** Reads an API-key file: `keys: [{ sha256, subject, tenant, roles }]`. Fails naming the file, line and field. */
export function loadApiKeyFile(file: string): ApiKeyEntry[] {
  return readYamlFile(file, KeyFileSchema, (message) => new ConfigError(`AUTH_API_KEYS_FILE ${message}`)).data.keys;
}

/** The gateway's credentials from settings, plus extra keys (the dev demo principals, in dev only). */
export function authSettings(settings: Settings, extraKeys: ApiKeyEntry[] = []): AuthSettings {
  const configured = settings.auth.apiKeysFile ? loadApiKeyFile(settings.auth.apiKeysFile) : [];
  // The demo keys are public; a key file that lists one would open the gateway to anyone.
  const demo = new Set(devApiKeys().map((k) => k.sha256));
  const leaked = configured.find((k) => demo.has(k.sha256.toLowerCase()));
  if (leaked) throw new ConfigError(`AUTH_API_KEYS_FILE lists a public dev demo key (subject ${leaked.subject}); use a secret key`);
  const apiKeys = [...configured, ...extraKeys];
  if (apiKeys.length === 0 && !settings.auth.jwt) {
    throw new ConfigError(
      'the gateway accepts no credentials: set AUTH_API_KEYS_FILE and/or AUTH_JWT_SECRET or AUTH_JWT_JWKS_URL (with AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE)',
    );
  }
  return { apiKeys, ...(settings.auth.jwt ? { jwt: settings.auth.jwt } : {}) };
}
