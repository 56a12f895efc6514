import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import type { Approval } from '../../contracts/run';

// The approver's page signs in once with a credential the gateway accepts and then calls the same API
// with a session cookie and a CSRF token: the same principal, roles and tenant scope, no side door.
jest.setTimeout(120_000);

let p: TestPlatform;
beforeAll(async () => {
  p = await startPlatform();
});
afterAll(async () => {
  await p?.stop();
});

async function signIn(headers: Record<string, string>) {
  const res = await fetch(`${p.baseUrl}/ui/session`, { method: 'POST', headers });
  const cookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrf_token: string; principal: { subject: string } };
  return { status: res.status, cookie, session: cookie.split(';')[0]!, body };
}

test('the page is served with a strict CSP and cache headers', async () => {
  const res = await fetch(`${p.baseUrl}/ui/`);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('cache-control')).toBe('no-cache');
  expect(await res.text()).toContain('<script type="module" src="/ui/app.js">');
});

test('a session stands in for the credential, and a state change needs its CSRF token', async () => {
  const approver = p.as({ subject: 'ui-alice', roles: ['approver'] });
  const s = await signIn(approver);
  expect(s.status).toBe(201);
  expect(s.cookie).toMatch(/HttpOnly/i);
  expect(s.cookie).toMatch(/SameSite=Strict/i);
  expect(s.body.principal.subject).toBe('ui-alice');

  const run = (
    await http(p, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 'disk full', context: { priority: 'high', details: 'disk full' } })
  ).body.run_id as string;
  const pending = await eventually(async () => {
    const r = await http(p, 'GET', '/v1/approvals', undefined, { authorization: '', cookie: s.session });
    expect(r.status).toBe(200);
    return (r.body.approvals as (Approval & { run_id: string })[]).find((a) => a.run_id === run);
  });
  const decide = `/v1/runs/${run}/approvals/${pending.id}`;
  const body = { decision: 'approve', args_hash: pending.args_hash };

  const noCsrf = await http(p, 'POST', decide, body, { authorization: '', cookie: s.session });
  expect(noCsrf.status).toBe(403);
  expect(noCsrf.headers.get('content-type')).toContain('application/problem+json');
  const wrong = await http(p, 'POST', decide, body, { authorization: '', cookie: s.session, 'x-csrf-token': 'x'.repeat(43) });
  expect(wrong.status).toBe(403);
  // Nothing changed: the approval still waits.
  const still = await http(p, 'GET', `/v1/runs/${run}`);
  expect((still.body.approvals as Approval[]).find((a) => a.id === pending.id)!.status).toBe('pending');

  const ok = await http(p, 'POST', decide, body, { authorization: '', cookie: s.session, 'x-csrf-token': s.body.csrf_token });
  expect(ok.status).toBe(200);
  expect((await waitForRun(p, run)).status).toBe('completed');
});

test('a forged or signed-out session is refused; another tenant sees none of the approvals', async () => {
  const forged = await http(p, 'GET', '/v1/approvals', undefined, { authorization: '', cookie: 'acp_session=forged' });
  expect(forged.status).toBe(401);

  const s = await signIn(p.as({ subject: 'ui-bob', roles: ['approver'] }));
  const noCsrfOut = await fetch(`${p.baseUrl}/ui/session/end`, { method: 'POST', headers: { cookie: s.session } });
  expect(noCsrfOut.status).toBe(403);
  const out = await fetch(`${p.baseUrl}/ui/session/end`, {
    method: 'POST',
    headers: { cookie: s.session, 'x-csrf-token': s.body.csrf_token },
  });
  expect(out.status).toBe(204);
  expect((await http(p, 'GET', '/v1/approvals', undefined, { authorization: '', cookie: s.session })).status).toBe(401);

  const run = (await http(p, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 'cpu hot', context: { priority: 'low', details: 'cpu' } }))
    .body.run_id as string;
  await eventually(async () =>
    ((await http(p, 'GET', `/v1/runs/${run}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );
  const other = await signIn(p.as({ subject: 'ui-eve', tenant: 'other', roles: ['approver'] }));
  const seen = await http(p, 'GET', '/v1/approvals', undefined, { authorization: '', cookie: other.session });
  expect(seen.status).toBe(200);
  expect(seen.body.approvals).toEqual([]);
  expect((await http(p, 'GET', `/v1/runs/${run}`, undefined, { authorization: '', cookie: other.session })).status).toBe(404);
});

test('signing in without a credential or with a wrong one gives no session', async () => {
  const none = await fetch(`${p.baseUrl}/ui/session`, { method: 'POST' });
  expect(none.status).toBe(401);
  const bad = await fetch(`${p.baseUrl}/ui/session`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  expect(bad.status).toBe(401);
  expect(bad.headers.get('set-cookie')).toBeNull();
});
