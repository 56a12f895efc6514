import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { AgentRunInput } from '../../contracts/run';
import { ReloadablePolicy } from '../../policies/reloadable';
import { http, startPlatform, type TestPlatform } from '../support/platform';
import { conformsTo, type OpenApiDoc } from '../support/openapi';

// Reloading the policy through the real gateway: the next request is decided by the new policy, a bad
// file changes nothing (422 naming file:line), only admins may reload, and every reload is audited.
const allow = `rules:
  - id: dispatchers-dispatch
    action: dispatch
    when: { roles: [dispatcher, admin] }
    effect: allow
  - id: tools-allowed
    action: tool_call
    when: { tools: ['*'] }
    effect: allow
  - id: models-allowed
    action: model_call
    effect: allow
`;
const freeze = `rules:
  - id: admins-dispatch
    action: dispatch
    when: { roles: [admin] }
    effect: allow
  - id: dispatch-frozen
    description: dispatch is frozen for everyone but admins
    action: dispatch
    when: { not_roles: [admin] }
    effect: deny
`;
// Line 5 names a tool that does not exist.
const broken = `rules:
  - id: bad-tool
    action: tool_call
    when:
      tools: [rm_rf]
    effect: allow
`;

let root: string;
let dir: string;
let platform: TestPlatform;
let conforms: ReturnType<typeof conformsTo>;
const write = (file: string, text: string) => writeFileSync(path.join(dir, file), text);

beforeAll(async () => {
  root = mkdtempSync(path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), 'policy-reload-'));
  dir = path.join(root, 'live-policies');
  mkdirSync(dir);
  write('00-base.yaml', allow);
  const policy = ReloadablePolicy.load(dir, { agents: ['docs-researcher', 'ticket-filer'], tools: ['docs_search', 'ticket_create'] });
  platform = await startPlatform({ policy });
  conforms = conformsTo((await http(platform, 'GET', '/openapi.json', undefined, { authorization: '' })).body as OpenApiDoc);
});
afterAll(async () => {
  await platform.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The policy hash in a run's input, as Temporal recorded it when the run started. */
async function inputPolicyHash(runId: string): Promise<string | undefined> {
  const history = await platform.client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return defaultPayloadConverter.fromPayload<AgentRunInput>(payload).policy?.hash;
}

test('a reload applies to the next request, a broken file keeps the previous policy, and every reload is audited', async () => {
  const tenant = `reload-${randomUUID().slice(0, 8)}`;
  const dispatcher = platform.as({ subject: 'dee', tenant, roles: ['dispatcher'] });
  const admin = platform.as({ subject: 'ada', tenant, roles: ['admin'] });
  const auditor = platform.as({ subject: 'aud', tenant, roles: ['auditor'] });
  const dispatch = (who: Record<string, string>) => http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'reload?' }, who);
  const status = async () => {
    const res = await http(platform, 'GET', '/v1/policy', undefined, auditor);
    conforms('GET', '/v1/policy', res);
    return res.body;
  };
  const reload = async (who: Record<string, string>) => {
    const res = await http(platform, 'POST', '/v1/policy/reload', undefined, who);
    conforms('POST', '/v1/policy/reload', res);
    return res;
  };

  // 1. The policy loaded at start lets a dispatcher dispatch; the run carries its hash.
  const first = await status();
  expect(first).toMatchObject({ files: ['live-policies/00-base.yaml'], reloadable: true });
  expect(first.last_error).toBeUndefined();
  const allowed = await dispatch(dispatcher);
  expect(allowed.status).toBe(202);
  expect(await inputPolicyHash(allowed.body.run_id as string)).toBe(first.hash);

  // 2. Only admins reload; nothing changes on a refusal.
  write('00-base.yaml', freeze);
  const forbidden = await reload(dispatcher);
  expect([forbidden.status, forbidden.body.detail]).toEqual([403, 'reloading the policy needs the role admin']);
  expect((await status()).hash).toBe(first.hash);
  expect((await dispatch(dispatcher)).status).toBe(202);
  expect((await http(platform, 'GET', '/v1/policy', undefined, dispatcher)).status).toBe(403);

  // 3. An admin reloads the freezing policy: the next dispatch is decided by it.
  const frozen = await reload(admin);
  expect(frozen.status).toBe(200);
  expect(frozen.body).toMatchObject({ previous_hash: first.hash, files: ['live-policies/00-base.yaml'] });
  expect(frozen.body.hash).not.toBe(first.hash);
  const denied = await dispatch(dispatcher);
  expect([denied.status, denied.body.detail]).toEqual([403, expect.stringContaining('rule dispatch-frozen')]);
  // New runs start with the new snapshot; the run started before keeps the one it was started with.
  const byAdmin = await dispatch(admin);
  expect(byAdmin.status).toBe(202);
  expect(await inputPolicyHash(byAdmin.body.run_id as string)).toBe(frozen.body.hash);
  expect(await inputPolicyHash(allowed.body.run_id as string)).toBe(first.hash);

  // 4. A broken file: 422 naming file:line, and the freezing policy still decides.
  write('10-broken.yaml', broken);
  const refused = await reload(admin);
  expect(refused.status).toBe(422);
  expect(refused.body.type).toBe('urn:agent-control-plane:problem:policy-invalid');
  expect(refused.body.detail).toBe(
    `live-policies/10-broken.yaml:5: rule "bad-tool" names unknown tools: rm_rf. The previous policy (${frozen.body.hash as string}) stays in force.`,
  );
  expect(refused.body.hash).toBe(frozen.body.hash);
  const still = await dispatch(dispatcher);
  expect([still.status, still.body.detail]).toEqual([403, expect.stringContaining('rule dispatch-frozen')]);
  const afterBad = await status();
  expect(afterBad).toMatchObject({
    hash: frozen.body.hash,
    files: ['live-policies/00-base.yaml'],
    last_error: { message: expect.stringMatching(/^live-policies\/10-broken\.yaml:5: /) },
  });

  // 5. Fixed: the reload goes through and the error is cleared.
  rmSync(path.join(dir, '10-broken.yaml'));
  write('00-base.yaml', allow);
  const restored = await reload(admin);
  expect([restored.status, restored.body.hash, restored.body.previous_hash]).toEqual([200, first.hash, frozen.body.hash]);
  expect((await status()).last_error).toBeUndefined();
  expect((await dispatch(dispatcher)).status).toBe(202);

  // The ledger: accepted, refused, accepted, each with the hashes (the 403 reload never reached the holder).
  const entries = (await http(platform, 'GET', '/v1/audit', undefined, auditor)).body.entries as {
    action: string;
    outcome: string;
    principal: string;
    reason: string;
    details: Record<string, unknown>;
  }[];
  const reloads = entries.filter((e) => e.action === 'policy.reload').reverse();
  expect(reloads.map((e) => `${e.principal} ${e.outcome}`)).toEqual(['ada accepted', 'ada refused', 'ada accepted']);
  expect(reloads[0]!.details).toMatchObject({ hash: frozen.body.hash, previous_hash: first.hash });
  expect(reloads[1]!.reason).toBe(refused.body.detail);
  expect(reloads[1]!.details).toMatchObject({ hash: frozen.body.hash, previous_hash: frozen.body.hash });
  expect(reloads[2]!.details).toMatchObject({ hash: first.hash, previous_hash: frozen.body.hash });
});

test('a gateway given its policy as a value shows it but has nothing to reload', async () => {
  const fixed = await startPlatform({ audit: platform.governance });
  try {
    const admin = fixed.as({ roles: ['admin'] });
    const shown = await http(fixed, 'GET', '/v1/policy', undefined, admin);
    conforms('GET', '/v1/policy', shown);
    expect(shown.body).toMatchObject({ reloadable: false, files: [] });
    const res = await http(fixed, 'POST', '/v1/policy/reload', undefined, admin);
    conforms('POST', '/v1/policy/reload', res);
    expect(res.status).toBe(404);
  } finally {
    await fixed.stop();
  }
});
