// Issue 15's acceptance, on a running `scripts/demo`: opens the console it printed in headless
// Chromium (Debian's), signs in with the demo's admin token, and checks that the devices page
// lists the demo device and that its page shows its checks, the failing ones among them.
// Screenshots go to OUT (default build/demo/console-check).
//
//   node tests/browser/demo-check.mjs URL TOKEN_FILE [OUT]
//   e.g. node tests/browser/demo-check.mjs https://127.0.0.1:8444 build/demo/server/admin-token
//
// Exit status 0 when all holds; 1 (with what did not) otherwise. Nothing leaves this machine:
// only URL is requested.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [url, tokenFile, outArg] = process.argv.slice(2);
if (!url || !tokenFile) {
  console.error('usage: node tests/browser/demo-check.mjs URL TOKEN_FILE [OUT]');
  process.exit(2);
}
const out = outArg || 'build/demo/console-check';
mkdirSync(out, { recursive: true });
const token = readFileSync(tokenFile, 'utf8').trim();
const profile = mkdtempSync(path.join(tmpdir(), 'hearth-demo-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.HEARTH_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true,  // the demo's own CA (build/demo/server/ca.pem)
  viewport: { width: 1366, height: 768 },
});
let status = 0;
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('request', (r) => assert.ok(r.url().startsWith(url), `request outside the console: ${r.url()}`));
  const waitPage = (name) => page.waitForSelector(`body[data-page="${name}"]`, { timeout: 15000 });
  await page.goto(`${url}/`);
  await waitPage('signin');
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
  await waitPage('overview');
  await page.screenshot({ path: path.join(out, 'overview.png'), fullPage: true });
  await page.goto(`${url}/#/devices`);
  await waitPage('devices');
  const rows = await page.locator('#devices tbody tr').count();
  assert.ok(rows >= 1, 'the demo device is listed');
  const host = (await page.textContent('#devices tbody tr td:first-child')).trim();
  await page.screenshot({ path: path.join(out, 'devices.png'), fullPage: true });
  await page.click('#devices tbody tr td:first-child a');
  await waitPage('device');
  await page.waitForSelector('#checks > tbody > tr');
  const checks = await page.$$eval('#checks > tbody > tr', (trs) => trs.map((tr) => ({
    id: tr.getAttribute('data-check'), verdict: tr.querySelector(':scope > td')?.textContent })));
  await page.screenshot({ path: path.join(out, 'device.png'), fullPage: true });
  assert.ok(checks.length >= 4, `the device's checks: ${JSON.stringify(checks)}`);
  const failing = checks.filter((c) => c.verdict === 'fail');
  console.log(`device ${host}: ${checks.map((c) => `${c.id} ${c.verdict}`).join(', ')}`);
  assert.ok(failing.length >= 1, 'the demo device shows its failing checks (a plain VM fails some)');
  console.log(`demo-check: passed (screenshots in ${out})`);
} catch (e) {
  console.error(`demo-check: FAILED: ${e.message}`);
  status = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
