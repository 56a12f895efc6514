import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadSettings } from '../../config/settings';
import { hashApiKey } from '../../gateway/auth';
import { authSettings, loadApiKeyFile } from '../../gateway/auth-config';
import { devApiKeys } from '../../gateway/dev-principals';
import { thrown } from '../support/thrown';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-auth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
};

test('a key file holds hashes, subjects, tenants and roles', () => {
  const file = write(
    'ok.yaml',
    `keys:\n  - sha256: ${hashApiKey('secret-1')}\n    subject: ci\n    tenant: acme\n    roles: [dispatcher]\n`,
  );
  expect(loadApiKeyFile(file)).toEqual([{ sha256: hashApiKey('secret-1'), subject: 'ci', tenant: 'acme', roles: ['dispatcher'] }]);
});

test('a plain key instead of its hash is refused, naming the setting, file, line and field', () => {
  const ok = `  - sha256: ${hashApiKey('secret-1')}\n    subject: ci\n    tenant: acme\n`;
  const file = write('plain.yaml', `keys:\n${ok}  - sha256: my-secret-key\n    subject: ci\n    tenant: acme\n`);
  expect(() => loadApiKeyFile(file)).toThrow(ConfigError);
  expect(() => loadApiKeyFile(file)).toThrow(`AUTH_API_KEYS_FILE ${file}:5: keys.1.sha256: must be the hex SHA-256`);
});

test.each([
  ['YAML that does not parse', 'keys:\n  - sha256: [\n', /:\d+: not valid YAML: /],
  ['an unknown key', 'keys: []\nusers: []\n', /:1: \(root\): .*"users"/],
  ['a missing file', undefined, /^AUTH_API_KEYS_FILE cannot read .*missing\.yaml/],
])('%s in the key file is a ConfigError naming it', (_what, text, message) => {
  const file = text === undefined ? path.join(tmp, 'missing.yaml') : write('bad.yaml', text);
  const err = thrown(() => loadApiKeyFile(file));
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain(file);
  expect(err.message).toMatch(message);
});

test('a gateway without any credential source refuses to start', () => {
  expect(() => authSettings(loadSettings({}))).toThrow(/accepts no credentials/);
});

test('JWT settings need issuer and audience, and a long enough secret', () => {
  expect(() => loadSettings({ AUTH_JWT_SECRET: 'x'.repeat(40) })).toThrow(/AUTH_JWT_ISSUER/);
  expect(() => loadSettings({ AUTH_JWT_SECRET: 'short', AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' })).toThrow(/at least 32/);
  const s = loadSettings({ AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' });
  expect(authSettings(s).jwt).toEqual({ secret: 'x'.repeat(40), issuer: 'i', audience: 'a' });
});

test('the dev demo keys are only hashes, four principals over two tenants', () => {
  const keys = devApiKeys();
  expect(keys).toHaveLength(4);
  expect(new Set(keys.map((k) => k.tenant))).toEqual(new Set(['acme', 'globex']));
  for (const k of keys) expect(k.sha256).toMatch(/^[0-9a-f]{64}$/);
});

test('a key file that lists a public demo key is refused', () => {
  const file = write('demo.yaml', `keys:\n  - sha256: ${hashApiKey('dev-admin-key')}\n    subject: oops\n    tenant: acme\n`);
  const settings = loadSettings({ AUTH_API_KEYS_FILE: file });
  expect(() => authSettings(settings)).toThrow(/public dev demo key/);
});
