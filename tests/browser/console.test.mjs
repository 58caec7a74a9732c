// The IT console in a real headless Chromium (Debian's), driven by playwright-core. Started by
// console_browser_test.cc, which runs a real hearth-server with seeded devices and passes:
//   HEARTH_CONSOLE_URL    https://127.0.0.1:PORT (the admin listener)
//   HEARTH_ADMIN_TOKEN    an admin token;  HEARTH_READ_TOKEN  a read token
//   HEARTH_EXPECTED       JSON: {"statuses": {status: count}, "failures": {check: count},
//                          "total": N} as the API answers them
//   HEARTH_FAILING_HOST   the one non-compliant device's hostname; HEARTH_HOSTILE_HOST a hostname
//                          with markup; HEARTH_HOSTILE_SUMMARY a check summary with controls
//   HEARTH_OUT            where screenshots go (the test's output directory)
//   HEARTH_CHROMIUM       the browser (default /usr/bin/chromium)
// Prints one line per step; exits non-zero at the first failure.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('HEARTH_CONSOLE_URL');
const expected = JSON.parse(env('HEARTH_EXPECTED'));
const out = env('HEARTH_OUT');
const failingHost = env('HEARTH_FAILING_HOST');
const hostileHost = env('HEARTH_HOSTILE_HOST');
mkdirSync(out, { recursive: true });

// Each browser: Debian's Chromium with a fresh profile directory (its --user-data-dir, which
// playwright-core passes for a persistent context), nothing of the machine's own.
const profiles = [];
const contexts = [];
// `locale` is the browser's language (its Accept-Language and navigator.languages).
// `bypassCSP`: only for the accessibility audit, which injects axe-core into the page.
async function launch({ locale = 'en-GB', viewport = { width: 1366, height: 768 }, bypassCSP = false } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'hearth-chromium-'));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.HEARTH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--lang=${locale}`],
    ignoreHTTPSErrors: true,
    viewport,
    locale,
    bypassCSP,
  });
  contexts.push(context);
  return context;
}

const problems = [];
let expectBadRequest = false;
function step(text) { console.log(`step: ${text}`); }

// A new browser (own profile, own cookies) whose page fails the test on a script error, a CSP
// violation or a request to anywhere but the console.
async function newPage(name, options = {}) {
  const context = await launch(options);
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    // 401/403/404 are answers the tests ask for; a 400 only where a step expects one.
    const expected = expectBadRequest ? /status of 40[0134]/ : /status of 40[134]/;
    if (m.type() === 'error' && !expected.test(m.text())) problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(url)) problems.push(`${name}: request outside the console: ${r.url()}`);
  });
  return { context, page };
}

// The other three checks' layouts, and the fallback, rendered in the page from the console's own
// module: shapes as the Linux agent sends them, then shapes a layout does not know.
async function evidenceLayouts(page) {
  const src = await page.getAttribute('link[rel="modulepreload"][href$="/evidence.js"]', 'href');
  const r = await page.evaluate(async (src) => {
    const { renderEvidence } = await import(src);
    const html = (id, v) => {
      const node = renderEvidence(id, v);
      return { cls: node.className || '', text: node.textContent, rows: node.querySelectorAll('tbody tr').length,
        details: node.querySelectorAll('details').length };
    };
    const pending = Array.from({ length: 20 }, (_, i) => ({ name: `pkg${i}`, installed: '1.0', candidate: '1.1',
      security: i === 17, first_seen: '2026-12-01T00:00:00Z' }));
    return {
      vpn: html('vpn', { addresses: [{ address: '10.20.0.1', verdict: 'fail', reason: 'not_a_tunnel',
        detail: '10.20.0.1 is routed via eth0 (physical), not through a VPN',
        route: { type: 'unicast', interface: 'eth0', matched_prefix: 'default', gateway: '192.0.2.1', table_name: 'main' },
        interface: { name: 'eth0', kind: 'physical', tunnel: false, up: true } },
      { address: 'fd00:20::1', verdict: 'pass', route: { interface: 'wg0', matched_prefix: 'fd00:20::/48' },
        interface: { name: 'wg0', kind: 'wireguard', tunnel: true, up: true } }] }),
      patches: html('os_patches', { package_manager: 'apt', pending_count: 20, security_count: 1,
        oldest_pending_days: 6, oldest_security_days: 6, pending, state: 'kept' }),
      lock: html('screen_lock', { max_idle_seconds: 300, require_lock_on_resume: true, people: [{ person: 'person 1',
        user: 'anna', verdict: 'fail', reason: 'locks after 900 s', desktop: 'GNOME 46', idle_to_lock_seconds: 900,
        lock_on_resume: true, enforced_by_administrator: false }] }),
      oddVpn: html('vpn', { addresses: 'not a list' }),
      oddLock: html('screen_lock', { people: [{ user: { nested: 'object' } }] }),
      oddTop: html('disk_encryption', ['a', 'list']),
      other: html('fifth_check', { anything: 1 }),
    };
  }, src);
  assert.match(r.vpn.cls, /ev-vpn/);
  assert.equal(r.vpn.rows, 2);
  for (const s of ['10.20.0.1', 'eth0', 'physical', 'not a tunnel', 'gateway', '192.0.2.1', 'wg0', 'wireguard']) {
    assert.ok(r.vpn.text.includes(s), `vpn: ${s} in ${r.vpn.text}`);
  }
  assert.match(r.patches.cls, /ev-os_patches/);
  assert.equal(r.patches.rows, 20, '15 shown, 5 behind "more"');
  assert.ok(r.patches.text.indexOf('pkg17') < r.patches.text.indexOf('pkg0'), 'security updates first');
  assert.ok(r.patches.text.includes('5 more packages'), r.patches.text);
  assert.ok(r.patches.text.includes('kept'), 'a field the layout does not know is still shown');
  assert.match(r.lock.cls, /ev-screen_lock/);
  for (const s of ['anna', 'GNOME 46', '900', 'locks after 900 s', '300']) {
    assert.ok(r.lock.text.includes(s), `screen_lock: ${s} in ${r.lock.text}`);
  }
  for (const [name, v] of Object.entries({ oddVpn: r.oddVpn, oddLock: r.oddLock, oddTop: r.oddTop, other: r.other })) {
    assert.doesNotMatch(v.cls, /\bev\b/, `${name}: the generic lists, not a layout`);
  }
  assert.ok(r.oddVpn.text.includes('not a list') && r.oddLock.text.includes('object') && r.other.text.includes('anything'));
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

async function waitPage(page, name) {
  await page.waitForSelector(`body[data-page="${name}"]`, { timeout: 15000 });
}

async function signIn(page, token) {
  await page.goto(`${url}/`);
  await waitPage(page, 'signin');
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
}

// fetch() from inside the page, with the browser's cookie: {status, reason} (the error's reason,
// else its code).
async function pageFetch(page, pathName, init) {
  return page.evaluate(async ([p, i]) => {
    const r = await fetch(p, i);
    let reason = '';
    try {
      const body = await r.json();
      reason = body.reason || body.code || '';
    } catch { /* not JSON */ }
    return { status: r.status, reason };
  }, [pathName, init]);
}

async function csrfOf(page) {
  return page.evaluate(async () => (await (await fetch('/api/v1/session')).json()).csrf_token);
}

try {
  // --- An admin: a wrong token first, then the right one.
  const { context: adminContext, page } = await newPage('admin');
  step('sign-in page');
  await page.goto(`${url}/`);
  await waitPage(page, 'signin');
  await shot(page, 'signin');
  step('a wrong token is refused, with a message and no cookie');
  await page.fill('#token', 'not-a-token-0123456789');
  await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
  await waitPage(page, 'signin');
  assert.match(await page.textContent('#signin-error'), /not valid/);
  assert.equal((await adminContext.cookies()).length, 0);
  await shot(page, 'signin-failed');

  step('sign in with the admin token');
  await page.fill('#token', env('HEARTH_ADMIN_TOKEN'));
  await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
  await waitPage(page, 'overview');
  const cookies = await adminContext.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, 'hearth_session');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].secure, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is not readable by scripts');
  assert.equal(new URL(page.url()).search, '', 'no token in the URL');

  step('the overview numbers are the API\'s');
  for (const [status, count] of Object.entries(expected.statuses)) {
    const shown = await page.getAttribute(`[data-status="${status}"] .count`, 'data-count');
    assert.equal(Number(shown), count, `status ${status}`);
  }
  assert.equal(Number(await page.getAttribute('#total', 'data-count')), expected.total);
  for (const [check, count] of Object.entries(expected.failures)) {
    const shown = await page.getAttribute(`#check-failures tr[data-check="${check}"] td[data-count]`, 'data-count');
    assert.equal(Number(shown), count, `failures of ${check}`);
  }
  assert.equal(await page.locator('#check-failures tbody tr').count(), Object.keys(expected.failures).length);
  assert.ok((await page.textContent('main')).includes('reported by the device'));
  step('the overview: the trend drawn by the page, the devices failing longest');
  // The server counts once a minute from its start: today is recorded.
  assert.equal(await page.locator('#trend-chart').count(), 1);
  assert.equal(await page.locator('#trend-chart polyline').count(), 5, 'a line per status');
  assert.equal(await page.locator('#trend-chart line').count(), 3, 'three grid lines');
  assert.equal((await page.locator('#trend-chart').textContent()).includes('[object'), false);
  assert.ok(await page.locator('#trend-table tbody tr').count() >= 1);
  assert.equal(await page.locator('#failing-longest tbody tr').count(), expected.statuses.noncompliant);
  assert.equal(await page.textContent('#failing-longest tbody tr td:first-child'), failingHost);
  await shot(page, 'overview');

  step('devices: every device, the hostile hostname as text');
  await page.click('nav a[href="#/devices"]');
  await waitPage(page, 'devices');
  assert.equal(await page.locator('#devices tbody tr').count(), expected.total);
  const hostileCell = page.locator('#devices tbody tr td:first-child', { hasText: 'script' });
  assert.equal(await hostileCell.textContent(), hostileHost);
  assert.equal(await page.locator('main script, main img, main iframe').count(), 0);
  assert.equal(await page.evaluate(() => window.hearthPwned), undefined);
  assert.ok((await page.textContent('#devices caption')).includes('reported by the device'));

  step('filter to the one failing device');
  await page.selectOption('#filter-status', 'noncompliant');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => window.location.hash.includes('status=noncompliant'));
  await waitPage(page, 'devices');
  await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 1);
  assert.equal(await page.textContent('#devices tbody tr td:first-child'), failingHost);
  await shot(page, 'devices');

  step('open it: verdicts, evidence, controls made visible');
  await page.click(`#devices tbody tr td:first-child a`);
  await waitPage(page, 'device');
  assert.equal(await page.textContent('#device-title bdi'), failingHost);
  const failRow = page.locator('#checks tr[data-check="disk_encryption"]');
  assert.equal(await failRow.locator('td').nth(0).textContent(), 'fail');
  const summary = await failRow.locator('td').nth(1).textContent();
  assert.ok(summary.includes('[U+202E]'), summary);
  assert.ok(summary.includes('[U+001B]'), summary);
  assert.ok(!/[\u202e\u001b]/.test(summary), 'no raw control in the page');
  assert.notEqual(await failRow.locator('td').nth(2).textContent(), '—', 'failing since shown');
  // The advice the person got, as its numbered steps.
  const advice = failRow.locator('[data-advice="disk_encryption.reinstall_encrypted"]');
  assert.equal(await advice.locator('ol li').count(), 2);
  assert.equal(await advice.locator('ol li').nth(1).textContent(), 'Reinstall with "Encrypt the new installation" chosen.');
  // The disk layout: the mount, its chain down to the disk, each layer; the hostile mount point
  // as text; the fields the layout does not show kept under "Other details".
  const evidenceCell = failRow.locator('.evidence-cell');
  assert.equal(await evidenceCell.locator('.ev-disk_encryption .ev-target').count(), 1);
  assert.equal(await evidenceCell.locator('.ev-chain').textContent(), '/ \u2190 sda2 \u2190 sda');
  assert.equal(await evidenceCell.locator('.ev-target h4 code').textContent(), '/srv/<script>x</script>');
  assert.equal(await evidenceCell.locator('ul.ev-layers li').count(), 2, 'sda2, and below it sda');
  const evidenceText = await evidenceCell.textContent();
  for (const s of ['/dev/sda2', 'not encrypted', 'plain device without an encryption layer', 'bind mount', '8:2']) {
    assert.ok(evidenceText.includes(s), `${s} in ${evidenceText}`);
  }
  assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script came from the device');
  await evidenceLayouts(page);
  assert.ok((await page.textContent('#checks caption')).includes('reported by the device'));
  assert.equal(await page.locator('#retire').count(), 1, 'an admin sees retire');
  assert.ok(await page.locator('#timeline li').count() >= 2, 'its history: enrolled, then its failure');
  assert.equal(await page.locator('#timeline li[data-type="enrolled"]').count(), 1);
  await shot(page, 'device');

  step('grant an exemption for the failing check: the device becomes compliant');
  await page.click('#exempt');
  await page.locator('#exempt-dialog').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#exempt-check'), 'disk_encryption', 'the failing check is chosen');
  await page.fill('#exempt-reason', 'New disk arrives Friday');
  await shot(page, 'device-exempt-dialog');
  await page.click('#exempt-dialog-confirm');
  await page.waitForSelector('#device-note');
  assert.equal(await page.getAttribute('#device-status', 'class'), 'status status-compliant');
  assert.equal(await page.locator('#exemptions li[data-check="disk_encryption"]').count(), 1);
  assert.ok((await page.textContent('#exemptions')).includes('New disk arrives Friday'));
  await shot(page, 'device-exempted');

  step('a bad exemption is refused with the server\'s message, in the dialog');
  expectBadRequest = true;
  await page.click('#exempt');
  await page.locator('#exempt-dialog').waitFor({ state: 'visible' });
  await page.evaluate(() => { document.querySelector('#exempt-reason').removeAttribute('maxlength'); });
  await page.fill('#exempt-reason', 'x'.repeat(2000));
  await page.click('#exempt-dialog-confirm');
  await page.waitForFunction(() => document.querySelector('#exempt-dialog-error').textContent.length > 0);
  assert.ok((await page.textContent('#exempt-dialog-error')).includes('reason'));
  await page.click('#exempt-dialog-cancel');
  expectBadRequest = false;

  step('the exemptions page lists it');
  await page.goto(`${url}/#/exemptions`);
  await waitPage(page, 'exemptions');
  assert.equal(await page.locator('#exemptions-table tbody tr').count(), 1);
  assert.equal(await page.locator('[data-revoke]').count(), 1);
  await shot(page, 'exemptions');

  step('the feed: the newest events, hostnames as text');
  await page.goto(`${url}/#/feed`);
  await waitPage(page, 'feed');
  assert.ok(await page.locator('#feed tbody tr').count() >= 5);
  assert.ok(await page.locator('#feed tbody tr[data-type="device_compliant"]').count() >= 1, 'the exemption made it compliant');
  assert.equal(await page.locator('main script, main img, main iframe').count(), 0);
  await shot(page, 'feed');

  step('the audit log (admin): the sign-in and the exemption');
  await page.goto(`${url}/#/audit`);
  await waitPage(page, 'audit');
  assert.equal(await page.locator('#audit tbody tr[data-action="exemption.create"]').count(), 1);
  assert.ok(await page.locator('#audit tbody tr[data-action="console.login"]').count() >= 1);
  await shot(page, 'audit');

  step('webhooks and the period report');
  await page.goto(`${url}/#/webhooks`);
  await waitPage(page, 'webhooks');
  await page.click('#webhook-new summary');
  await shot(page, 'webhooks');
  await page.goto(`${url}/#/report`);
  await waitPage(page, 'report');
  const csvHref = await page.getAttribute('#report-csv', 'href');
  assert.match(csvHref, /^\/api\/v1\/compliance-report\?from=\d{4}-\d\d-\d\dT00%3A00%3A00Z&to=.*&format=csv$/);
  const csvAnswer = await pageFetch(page, csvHref, {});
  assert.equal(csvAnswer.status, 200);
  await shot(page, 'report');
  const today = new Date().toISOString().slice(0, 10);
  await page.goto(`${url}/#/report?from=${today}&to=${today}`);
  await waitPage(page, 'report');
  assert.equal(await page.locator('#report-invalid').count(), 1, 'a period not ended is refused on the page');
  assert.equal(await page.locator('#report-csv').count(), 0);

  step('enrolment secrets: make a per-person one, shown once; revoke it');
  await page.goto(`${url}/#/secrets`);
  await waitPage(page, 'secrets');
  const before = await page.locator('#secrets-table tbody tr').count();
  await page.click('#secret-new summary');
  await page.selectOption('#secret-kind', 'per-person');
  await page.fill('#secret-owner', 'erin@example.com');
  await page.click('#secret-create');
  await page.waitForSelector('#secret-once');
  const secretValue = await page.textContent('#secret-value');
  assert.match(secretValue, /^hes_[A-Za-z0-9_-]{20,}$/);
  assert.equal(await page.locator('#secrets-table tbody tr').count(), before + 1);
  const made = page.locator('#secrets-table tbody tr[data-kind="per-person"]');
  assert.ok((await made.textContent()).includes('erin@example.com'));
  assert.equal(new URL(page.url()).href.includes(secretValue), false, 'the secret is not in the URL');
  await shot(page, 'secrets');
  // Shown once: the list never carries it.
  await page.goto(`${url}/#/secrets?kind=per-person`);
  await waitPage(page, 'secrets');
  assert.equal(await page.locator('#secret-once').count(), 0);
  assert.equal((await page.textContent('main')).includes(secretValue), false);
  page.once('dialog', (d) => d.accept());
  await page.click('#secrets-table tbody tr[data-kind="per-person"] [data-revoke]');
  await page.waitForSelector('#secrets-table tbody tr[data-kind="per-person"][data-state="revoked"]');

  step('policies: a new version previewed (with the server\'s check of it) and saved');
  await page.goto(`${url}/#/policies`);
  await waitPage(page, 'policies');
  const level = page.locator('section.policy[data-level="standard"]');
  const version = Number((await level.locator('h2').textContent()).match(/version (\d+)/)[1]);
  await level.locator('details.policy-edit summary').click();
  const good = await page.inputValue('#policy-text');
  assert.equal(JSON.parse(good).version, version + 1, 'the editor starts at the next version');
  await page.fill('#policy-text', good.replace('"checks": {', '"checks": {\n    "no_such_check": {"required": true},'));
  expectBadRequest = true;
  await page.click('#policy-preview-button');
  await page.waitForSelector('#policy-error');
  expectBadRequest = false;
  assert.ok((await page.textContent('#policy-error')).includes('no_such_check'), 'the server names the key');
  await page.fill('#policy-text', good);
  await page.click('#policy-preview-button');
  await page.waitForSelector('#policy-preview');
  assert.match(await page.textContent('#policy-preview'), /\d+ devices on this level: \d+ fail now; with this version \d+ would fail/);
  await shot(page, 'policy-edit');
  await page.click('#policy-save');
  await page.waitForSelector('#policy-saved');
  assert.ok((await page.textContent('section.policy[data-level="standard"] h2')).includes(`version ${version + 1}`));

  step('search the devices by owner or hostname, and the CSV of the view');
  await page.goto(`${url}/#/devices?q=FAILING`);
  await waitPage(page, 'devices');
  assert.equal(await page.locator('#devices tbody tr').count(), 1);
  assert.equal(await page.textContent('#devices tbody tr td:first-child'), failingHost);
  assert.equal(await page.getAttribute('#devices-csv', 'href'), '/api/v1/devices.csv?q=FAILING');
  await page.goto(`${url}/#/device/${encodeURIComponent(await page.getAttribute('#devices tbody tr', 'data-device'))}`);
  await waitPage(page, 'device');

  step('a CSRF-less POST with the session cookie is refused');
  const deviceId = await page.evaluate(() => document.querySelector('#device-facts code').textContent);
  let r = await pageFetch(page, `/api/v1/devices/${deviceId}/retire`, { method: 'POST' });
  assert.deepEqual(r, { status: 403, reason: 'csrf' });
  r = await pageFetch(page, '/logout', { method: 'POST' });
  assert.equal(r.status, 403);

  step('retire the hostile device, confirming a dialog that names it');
  await page.goto(`${url}/#/devices`);
  await waitPage(page, 'devices');
  await page.click('#devices tbody tr td:first-child a >> text=script');
  await waitPage(page, 'device');
  await page.click('#retire');
  const dialog = page.locator('#retire-dialog');
  await dialog.waitFor({ state: 'visible' });
  const question = await dialog.locator('p').textContent();
  assert.ok(question.includes(hostileHost), question);
  await shot(page, 'device-retire-confirm');
  await page.click('#retire-confirm');
  await page.waitForSelector('#device-note');
  assert.equal(await page.getAttribute('#device-status', 'class'), 'status status-retired');
  assert.equal(await page.locator('#retire').count(), 0);
  assert.equal(await page.evaluate(() => window.hearthPwned), undefined);

  step('sign out');
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  await waitPage(page, 'signin');
  assert.equal((await adminContext.cookies()).length, 0);
  r = await pageFetch(page, '/api/v1/session', {});
  assert.equal(r.status, 401);

  // --- Danish: a browser whose language is Danish gets the console in Danish.
  step('a Danish browser: the console in Danish, at phone width');
  const { page: da } = await newPage('danish', { locale: 'da-DK', viewport: { width: 390, height: 844 } });
  await signIn(da, env('HEARTH_READ_TOKEN'));
  await waitPage(da, 'overview');
  assert.equal(await da.getAttribute('html', 'lang'), 'da');
  assert.equal(await da.textContent('nav a[href="#/devices"]'), 'Enheder');
  assert.equal(await da.textContent('[data-status="noncompliant"] .status'), 'Overholder ikke');
  assert.ok(await da.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    'nothing wider than a phone');
  await shot(da, 'overview-da-phone');

  // --- A read token: no write controls, forged writes refused.
  const { page: reader } = await newPage('read');
  step('a read session sees no write controls');
  await signIn(reader, env('HEARTH_READ_TOKEN'));
  await waitPage(reader, 'overview');
  assert.equal(await reader.getAttribute('#who-role', 'data-role'), 'read');
  await reader.goto(`${url}/#/devices?q=${encodeURIComponent(failingHost)}`);
  await waitPage(reader, 'devices');
  await reader.click('#devices tbody tr td:first-child a');
  await waitPage(reader, 'device');
  assert.equal(await reader.locator('[data-write], #retire, dialog').count(), 0);
  await shot(reader, 'device-read');
  await reader.goto(`${url}/#/exemptions`);
  await waitPage(reader, 'exemptions');
  assert.equal(await reader.locator('[data-write]').count(), 0, 'no revoke for a read session');
  assert.equal(await reader.locator('nav a[href="#/audit"]').count(), 0, 'no audit log for a read session');
  await reader.goto(`${url}/#/policies`);
  await waitPage(reader, 'policies');
  assert.equal(await reader.locator('.policy-edit, [data-write]').count(), 0, 'no policy editor for a read session');
  await reader.goto(`${url}/#/secrets`);
  await waitPage(reader, 'secrets');
  assert.equal(await reader.locator('#secret-new, [data-write]').count(), 0, 'no secret controls for a read session');

  step('a read session\'s forged writes get 403, with and without the CSRF token');
  const csrf = await csrfOf(reader);
  r = await pageFetch(reader, `/api/v1/devices/${deviceId}/retire`, { method: 'POST' });
  assert.equal(r.status, 403);
  assert.equal(r.reason, 'csrf');
  r = await pageFetch(reader, `/api/v1/devices/${deviceId}/retire`, {
    method: 'POST', headers: { 'X-CSRF-Token': csrf },
  });
  assert.deepEqual(r, { status: 403, reason: 'read_only_token' });
  r = await pageFetch(reader, `/api/v1/devices/${deviceId}`, {});
  assert.equal(r.status, 200);

  // --- Keyboard only: sign in and reach a device without the mouse.
  step('keyboard only: sign in, open the devices page and a device');
  const { page: keys } = await newPage('keyboard');
  await keys.goto(`${url}/`);
  await waitPage(keys, 'signin');
  let focused = '';
  for (let i = 0; i < 10 && focused !== 'token'; i += 1) {
    await keys.keyboard.press('Tab');
    focused = await keys.evaluate(() => document.activeElement?.id || '');
  }
  assert.equal(focused, 'token', 'Tab reaches the token field');
  await keys.keyboard.type(env('HEARTH_READ_TOKEN'));
  await Promise.all([keys.waitForNavigation(), keys.keyboard.press('Enter')]);
  await waitPage(keys, 'overview');
  let onDevices = false;
  for (let i = 0; i < 20 && !onDevices; i += 1) {
    await keys.keyboard.press('Tab');
    onDevices = await keys.evaluate(() => document.activeElement?.getAttribute('href') === '#/devices');
  }
  assert.ok(onDevices, 'Tab reaches the Devices link');
  await keys.keyboard.press('Enter');
  await waitPage(keys, 'devices');
  const focusVisible = await keys.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(focusVisible, undefined);

  // --- Accessibility: axe-core on every page, as an admin (every control shown).
  step('accessibility: axe-core finds no serious or critical violation on any page');
  const { page: audit } = await newPage('axe', { bypassCSP: true });
  const axe = async (name) => {
    await audit.addScriptTag({ path: axePath });
    const { found, passed } = await audit.evaluate(async () => {
      const r = await window.axe.run(document);
      return {
        found: r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`),
        passed: r.passes.length,
      };
    });
    assert.ok(passed >= 10, `axe ran its rules on ${name} (${passed} passed)`);
    for (const f of found) problems.push(`axe ${name}: ${f}`);
    console.log(`axe ${name}: ${passed} rules passed, ${found.length} serious or critical violations`);
  };
  await audit.goto(`${url}/`);
  await waitPage(audit, 'signin');
  await axe('signin');
  await signIn(audit, env('HEARTH_ADMIN_TOKEN'));
  const failingId = await audit.evaluate(async (host) => {
    const r = await fetch(`/api/v1/devices?q=${encodeURIComponent(host)}`);
    return (await r.json()).devices[0].device_id;
  }, failingHost);
  for (const [hash, name] of [['#/', 'overview'], ['#/devices', 'devices'], [`#/device/${failingId}`, 'device'],
    ['#/feed', 'feed'], ['#/exemptions', 'exemptions'], ['#/webhooks', 'webhooks'], ['#/report', 'report'],
    ['#/secrets', 'secrets'], ['#/policies', 'policies'], ['#/audit', 'audit']]) {
    await audit.goto(`${url}/${hash}`);
    await waitPage(audit, name);
    await audit.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    await axe(name);
  }

  assert.deepEqual(problems, [], problems.join('\n'));
  console.log('console browser test: passed');
} finally {
  for (const context of contexts) await context.close().catch(() => {});
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
}
