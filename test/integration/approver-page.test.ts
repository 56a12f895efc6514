import { mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../config/settings';
import { launchBrowser } from '../support/browser';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// The approver's page in a real headless Chromium: sign in with an API key, see the pending call
// appear without reloading (the page polls), edit an argument, see the diff, approve, and the run
// completes. Screenshots go to docs/images/ only when UPDATE_DOCS_SCREENSHOTS=1.
jest.setTimeout(240_000);

let p: TestPlatform;
let browser: Browser | undefined;
beforeAll(async () => {
  p = await startPlatform();
  browser = (await launchBrowser()).browser;
});
afterAll(async () => {
  await browser?.close();
  await p?.stop();
});

const shoot = async (page: import('playwright-core').Page, name: string) => {
  if (process.env.UPDATE_DOCS_SCREENSHOTS !== '1') return;
  mkdirSync(path.join(PROJECT_ROOT, 'docs', 'images'), { recursive: true });
  await page.screenshot({ path: path.join(PROJECT_ROOT, 'docs', 'images', name), fullPage: true, timeout: 90_000 });
};

test('an approver signs in, sees the call arrive live, edits it, sees the diff and approves', async () => {
  const key = 'page-approver-key';
  p.as({ subject: 'page-alice', roles: ['approver'] }, key);
  const page = await (await browser!.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  await page.goto(`${p.baseUrl}/ui/`);
  await page.getByLabel('API key or JWT').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('page-alice · tenant default').waitFor();

  // Dispatched after the page is open: it must appear without a reload.
  const run = (
    await http(p, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 'disk full', context: { priority: 'high', details: 'disk' } })
  ).body.run_id as string;
  const item = page.locator('li.item', { hasText: run });
  await item.waitFor({ timeout: 60_000 });
  expect(await item.innerText()).toContain('ticket_create');

  const axe = await new AxeBuilder({ page }).analyze();
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => v.id)).toEqual([]);
  await shoot(page, 'approvals-inbox.png');

  const edit = item.getByLabel('Edit arguments (JSON)');
  const args = JSON.parse(await edit.inputValue()) as Record<string, unknown>;
  await edit.fill(JSON.stringify({ ...args, priority: 'low' }, null, 2));
  await item.getByRole('button', { name: 'Show diff' }).click();
  expect(await item.locator('pre.diff').innerText()).toBe('priority: "high" → "low"');
  await shoot(page, 'approvals-edit.png');
  await item.getByRole('button', { name: 'Approve edited' }).click();
  await page.getByText('Recorded: approved').waitFor();

  const done = await waitForRun(p, run);
  expect(done.status).toBe('completed');
  const actions = (done.output as { actions_taken: { tool: string; args: Record<string, unknown> }[] }).actions_taken;
  expect(actions.find((a) => a.tool === 'ticket_create')!.args.priority).toBe('low');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'approvals-phone.png');

  // Sign-out revokes the session on the server: the page asks for a credential again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key or JWT').waitFor();
});

test('an approver of another tenant sees nothing', async () => {
  const run = (await http(p, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 'cpu hot', context: { priority: 'low', details: 'cpu' } }))
    .body.run_id as string;
  p.as({ subject: 'page-eve', tenant: 'elsewhere', roles: ['approver'] }, 'page-eve-key');
  const page = await (await browser!.newContext()).newPage();
  await page.goto(`${p.baseUrl}/ui/`);
  await page.getByLabel('API key or JWT').fill('page-eve-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/0 waiting · updated/).waitFor();
  expect(await page.locator('li.item', { hasText: run }).count()).toBe(0);
});
