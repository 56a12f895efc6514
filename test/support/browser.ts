import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../config/settings';

/** Chromium builds a machine may already have, tried before the one inside @sparticuz/chromium. */
const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/**
 * The Chromium inside the @sparticuz/chromium package (unpacked to the temp folder on first use) and
 * the flags it needs. The package is ES-module only, so a child Node process asks it.
 */
function packagedChromium(): { executablePath: string; args: string[] } {
  const script =
    "const c = (await import('@sparticuz/chromium')).default; process.stdout.write(JSON.stringify({ executablePath: await c.executablePath(), args: c.args }));";
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as { executablePath: string; args: string[] };
}

/**
 * Launches a headless Chromium: the machine's own when it has one, else the build shipped inside the
 * @sparticuz/chromium package. A browser that cannot start fails the test, saying what was tried.
 */
export async function launchBrowser(): Promise<{ browser: Browser; source: string }> {
  const tried: string[] = [];
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) {
    try {
      return { browser: await chromium.launch({ executablePath: system, headless: true, args: ['--no-sandbox'] }), source: system };
    } catch (err) {
      tried.push(`${system}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    const { executablePath, args } = packagedChromium();
    return { browser: await chromium.launch({ executablePath, headless: true, args }), source: `@sparticuz/chromium (${executablePath})` };
  } catch (err) {
    tried.push(`@sparticuz/chromium: ${(err as Error).message.split('\n')[0]}`);
  }
  throw new Error(
    `no headless Chromium could start. Tried: ${tried.join('; ') || 'nothing'}. Install Debian's chromium, or run npm install.`,
  );
}
