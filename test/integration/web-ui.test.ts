import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../config/settings';
import type { Approval } from '../../contracts/run';
import { launchBrowser } from '../support/browser';
import { approvePending, eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// An operator's view: the test dev server's Temporal Web UI in a real headless browser. The run list
// filtered by the AgentName search attribute shows the run (and not another agent's), and the run's
// page shows its current details, as the workflow sets them, while it waits for an approver.
// The committed picture in docs/ is refreshed on request (UPDATE_DOCS_SCREENSHOTS=1), so a test run
// leaves the working tree as it found it; otherwise the screenshot goes to a scratch folder.
const SCREENSHOT =
  process.env.UPDATE_DOCS_SCREENSHOTS === '1'
    ? path.join(PROJECT_ROOT, 'docs', 'images', 'web-ui-current-details.png')
    : path.join(mkdtempSync(path.join(os.tmpdir(), 'acp-web-ui-')), 'web-ui-current-details.png');

// A headless Chromium on a 2-core machine busy with jest's other workers renders slowly (a screenshot
// took over 30 s once under a full run): generous bounds, since this checks what is shown, not how fast.
jest.setTimeout(240_000);

let p: TestPlatform;
let browser: Browser | undefined;

beforeAll(async () => {
  p = await startPlatform();
});
afterAll(async () => {
  await browser?.close();
  await p?.stop();
});

test('the Web UI finds a run by AgentName and shows where it stands, pending approval included', async () => {
  const ui = process.env.TEST_TEMPORAL_UI_URL;
  if (!ui) throw new Error('TEST_TEMPORAL_UI_URL is unset: global-setup starts the dev server with its Web UI');
  const filed = await http(p, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full on db-1',
    context: { priority: 'high', details: 'disk full on db-1' },
  });
  const runId = filed.body.run_id as string;
  const other = (await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'how do approvals work' })).body.run_id as string;
  await waitForRun(p, other);
  await eventually(async () =>
    ((await http(p, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );

  const launched = await launchBrowser();
  browser = launched.browser;
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const list = `${ui}/namespaces/${p.client.options.namespace}/workflows?query=${encodeURIComponent('AgentName="ticket-filer"')}`;
  // Visibility is eventually consistent: reload the filtered list until the run shows up.
  await eventually(
    async () => {
      await page.goto(list, { waitUntil: 'networkidle' });
      return (await page.locator(`a[href*="${runId}"]`).count()) > 0 ? true : undefined;
    },
    30_000,
    'the run in the filtered list',
  );
  expect(await page.locator(`a[href*="${other}"]`).count()).toBe(0);

  await page.locator(`a[href*="${runId}"]`).first().click();
  // The summary panel: the start summary and the workflow's current details (Markdown, rendered in a frame).
  await page.waitForURL(new RegExp(`/workflows/${runId}/`));
  await page.waitForLoadState('networkidle');
  await page.getByText('User Metadata', { exact: true }).first().click();
  await page.waitForURL(/\/user-metadata/);
  const details = page.frameLocator('iframe[name="user-metadata-current-details"], iframe#user-metadata-current-details').locator('body');
  await details.getByText('Pending approval').waitFor({ timeout: 30_000 });
  const text = await details.innerText();
  expect(text).toContain('ticket-filer@1.0.0');
  expect(text).toMatch(/State:\s*HumanApproval \(step \d+ of at most 20\)/);
  expect(text).toMatch(/Usage:\s*\d+ input \/ \d+ output tokens/);
  expect(text).toMatch(/Pending approval:\s*tool call ticket_create · may decide: role approver/);
  expect(await page.locator('body').innerText()).toContain('Current Details');

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false, timeout: 90_000 });
  expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');

  // The run moves on once approved; the details follow.
  const { decided } = await approvePending(p, runId, 'alice');
  expect(decided.status).toBe(200);
  expect((await waitForRun(p, runId)).status).toBe('completed');
  await eventually(
    async () => {
      await page.reload({ waitUntil: 'networkidle' });
      const now = await details.innerText({ timeout: 5000 });
      return /· completed ·/.test(now) && !now.includes('Pending approval') ? true : undefined;
    },
    30_000,
    'the details to show the completed run',
  );
});
