// The console's single sign-on (OpenID Connect, issue 15) against a real provider on loopback
// (oidc_provider.mjs: npm's oidc-provider), started by console_browser_test.cc with:
//   HEARTH_CONSOLE_URL   https://127.0.0.1:PORT (hearth-server's admin listener, with oidc_*)
//   HEARTH_OUT           where screenshots go
//   HEARTH_CHROMIUM      the browser (default /usr/bin/chromium)
//   NODE_EXTRA_CA_CERTS  the server's CA (for the requests made here without the browser)
// In headless Chromium: alice (group hearth-admins) lands on the console as admin, bob
// (hearth-readers) as read and cannot write, carol (staff) is refused with the page saying why.
// Then, without a browser, the code flow driven by plain requests: a wrong state, a callback
// without the sign-in cookie, a replayed callback, a used code with a new sign-in, and a code
// swapped into another sign-in (its PKCE verifier and nonce) are all refused.
// HEARTH_OIDC_MODE=baseline runs only one code flow by plain requests.
// HEARTH_OIDC_MODE=two-servers (HEARTH_CALLBACK_URL: another server on the same database, the
// one the client's redirect URI names) starts the sign-in at HEARTH_CONSOLE_URL and finishes it
// on the other server, as a load balancer may send the browser; replays are refused on both.
// Prints one line per step; exits non-zero at the first failure.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.HEARTH_CONSOLE_URL;
const out = process.env.HEARTH_OUT;
if (!url || !out) throw new Error('HEARTH_CONSOLE_URL and HEARTH_OUT must be set');
mkdirSync(out, { recursive: true });
const step = (text) => console.log(`step: ${text}`);

const profiles = [];
const contexts = [];
async function newPage(name) {
  const profile = mkdtempSync(path.join(tmpdir(), 'hearth-chromium-'));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.HEARTH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=en-GB'],
    ignoreHTTPSErrors: true,
    viewport: { width: 1366, height: 768 },
    locale: 'en-GB',
  });
  contexts.push(context);
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  return { context, page, problems };
}

const waitPage = (page, name) => page.waitForSelector(`body[data-page="${name}"]`, { timeout: 15000 });

// From the console's sign-in page through the provider's login page (any password) and back.
async function signInWithSso(page, login) {
  await page.goto(`${url}/`);
  await waitPage(page, 'signin');
  await Promise.all([page.waitForURL((u) => !u.href.startsWith(url)), page.click('#signin-sso')]);
  await page.waitForSelector('input[name=login]', { timeout: 15000 });
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(url), { timeout: 15000 }),
    page.click('button[type=submit]')]);
}

// --- Plain requests: a cookie jar per host, redirects followed by hand.
class Jar {
  constructor() { this.cookies = new Map(); }
  header(target) {
    const host = new URL(target).host;
    return [...this.cookies.entries()].filter(([k]) => k.startsWith(`${host} `))
      .map(([k, v]) => `${k.split(' ')[1]}=${v}`).join('; ');
  }
  take(target, res) {
    const host = new URL(target).host;
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(`${host} ${name}`);
      else this.cookies.set(`${host} ${name}`, value);
    }
  }
  has(target, name) { return this.cookies.has(`${new URL(target).host} ${name}`); }
}

async function request(jar, target, init = {}) {
  const headers = { ...(init.headers || {}) };
  const cookie = jar.header(target);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(target, { ...init, headers, redirect: 'manual' });
  jar.take(target, res);
  const body = await res.text();
  const location = res.headers.get('location');
  return { status: res.status, body, location: location && new URL(location, target).href };
}

// Starts a sign-in at hearth-server and logs in at the provider as `login`; the callback URL the
// provider sends the browser to (not yet followed), with the jar holding the sign-in cookie.
async function codeFor(jar, login, back = url) {
  let r = await request(jar, `${url}/login/oidc`);
  assert.equal(r.status, 303, 'GET /login/oidc redirects to the provider');
  assert.ok(jar.has(url, 'hearth_oidc'), 'the sign-in cookie is set');
  const auth = new URL(r.location);
  assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(auth.searchParams.get('nonce') && auth.searchParams.get('state'));
  // The provider: its login interaction, then back to its authorization endpoint.
  r = await request(jar, r.location);
  for (let i = 0; i < 10 && r.status >= 300 && r.status < 400; i++) {
    if (r.location.startsWith(back)) return r.location;
    if (r.location.includes('/interaction/')) {
      const page = await request(jar, r.location);
      assert.equal(page.status, 200, 'the provider shows its login page');
      r = await request(jar, r.location, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'login', login, password: 'x' }).toString(),
      });
      continue;
    }
    r = await request(jar, r.location);
  }
  assert.ok(r.location && r.location.startsWith(back), `the provider sends back to hearth (${r.status} ${r.body.slice(0, 200)})`);
  return r.location;
}

const marked = (r, mark) => r.body.includes(`data-login="${mark}"`);

// HEARTH_OIDC_MODE=baseline: only the code flow by plain requests (another client set-up, such
// as client_secret_post), no browser.
if (process.env.HEARTH_OIDC_MODE === 'baseline') {
  step('requests: the code flow completes (baseline only)');
  const jar = new Jar();
  const r = await request(jar, await codeFor(jar, 'alice'));
  assert.equal(r.status, 303, `signed in: ${r.body.slice(0, 200)}`);
  assert.ok(jar.has(url, 'hearth_session'));
  console.log('oidc baseline: passed');
  process.exit(0);
}

if (process.env.HEARTH_OIDC_MODE === 'two-servers') {
  const other = process.env.HEARTH_CALLBACK_URL;
  if (!other) throw new Error('HEARTH_CALLBACK_URL must be set');
  // A browser sends a host's cookies to every port of it; the jar keeps them by host and port.
  const carry = (jar, from, to) => {
    const value = jar.cookies.get(`${new URL(from).host} hearth_oidc`);
    if (value) jar.cookies.set(`${new URL(to).host} hearth_oidc`, value);
  };
  step('two servers: a sign-in started on one finishes on the other');
  const jar = new Jar();
  const callback = await codeFor(jar, 'alice', other);
  carry(jar, url, other);
  let r = await request(jar, callback);
  assert.equal(r.status, 303, `signed in on the other server: ${r.body.slice(0, 300)}`);
  assert.ok(jar.has(other, 'hearth_session'));
  step('two servers: the session is good on both');
  const session = jar.cookies.get(`${new URL(other).host} hearth_session`);
  for (const base of [url, other]) {
    const me = await fetch(`${base}/api/v1/session`, { headers: { cookie: `hearth_session=${session}` } });
    assert.equal(me.status, 200, `${base}: the session`);
    assert.equal((await me.json()).role, 'admin');
  }
  step('two servers: the same answer again is refused on either server');
  for (const base of [other, url]) {
    const replay = new URL(callback);
    const target = new URL(base);
    replay.host = target.host;
    if (base !== url) carry(jar, url, base);  // the sign-in cookie as the browser still has it
    assert.ok(jar.has(base, 'hearth_oidc'));
    r = await request(jar, replay.href);
    assert.equal(r.status, 401, `${base}: a replayed answer`);
    assert.ok(marked(r, 'oidc-failed'));
  }
  console.log('oidc two servers: passed');
  process.exit(0);
}

try {
  step('alice (group hearth-admins) signs in with single sign-on and is admin');
  const alice = await newPage('alice');
  await signInWithSso(alice.page, 'alice');
  await waitPage(alice.page, 'overview');
  assert.equal(await alice.page.getAttribute('#who-role', 'data-role'), 'admin');
  assert.match(await alice.page.textContent('#who-role'), /oidc:alice/);
  await alice.page.screenshot({ path: path.join(out, 'oidc-admin.png'), fullPage: true });
  const session = await alice.page.evaluate(async () => (await fetch('/api/v1/session')).json());
  assert.equal(session.role, 'admin');
  step('an admin write with the session and its CSRF token is allowed');
  const created = await alice.page.evaluate(async (csrf) => {
    const r = await fetch('/api/v1/secrets', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ uses: 1, expires_days: 1 }) });
    return r.status;
  }, session.csrf_token);
  assert.ok(created === 201 || created === 200, `secret created (${created})`);
  assert.deepEqual(alice.problems, []);

  step('bob (group hearth-readers) is read-only: no write controls, a forged write gets 403');
  const bob = await newPage('bob');
  await signInWithSso(bob.page, 'bob');
  await waitPage(bob.page, 'overview');
  assert.equal(await bob.page.getAttribute('#who-role', 'data-role'), 'read');
  assert.equal(await bob.page.locator('nav a[href="#/audit"]').count(), 0);
  const forged = await bob.page.evaluate(async () => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/secrets', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token },
      body: JSON.stringify({ uses: 1 }) });
    return r.status;
  });
  assert.equal(forged, 403);
  await bob.page.screenshot({ path: path.join(out, 'oidc-read.png'), fullPage: true });

  step('carol (group staff only) is refused with a page that says why, and has no session');
  const carol = await newPage('carol');
  await signInWithSso(carol.page, 'carol');
  await waitPage(carol.page, 'signin');
  assert.match(await carol.page.textContent('#signin-error'), /no role in Hearth/);
  const carolCookies = await carol.context.cookies(url);
  assert.equal(carolCookies.filter((c) => c.name === 'hearth_session').length, 0);
  const me = await carol.page.evaluate(async () => (await fetch('/api/v1/session')).status);
  assert.equal(me, 401);
  await carol.page.screenshot({ path: path.join(out, 'oidc-refused.png'), fullPage: true });

  step('requests: the code flow completes without a browser (the baseline)');
  let jar = new Jar();
  let callback = await codeFor(jar, 'alice');
  let r = await request(jar, callback);
  assert.equal(r.status, 303, `signed in: ${r.body.slice(0, 200)}`);
  assert.ok(jar.has(url, 'hearth_session'));

  step('requests: the same callback again (a replay) is refused');
  r = await request(jar, callback);
  assert.equal(r.status, 401);
  assert.ok(marked(r, 'oidc-failed'));

  step('requests: a used code with a new sign-in of this browser is refused');
  const used = new URL(callback).searchParams.get('code');
  let start = await request(jar, `${url}/login/oidc`);
  let state = new URL(start.location).searchParams.get('state');
  r = await request(jar, `${url}/login/oidc/callback?code=${encodeURIComponent(used)}&state=${state}`);
  assert.equal(r.status, 401);
  assert.ok(marked(r, 'oidc-failed'));

  step('requests: a wrong state is refused (and ends that sign-in)');
  jar = new Jar();
  callback = await codeFor(jar, 'alice');
  const wrong = new URL(callback);
  wrong.searchParams.set('state', 'f'.repeat(64));
  r = await request(jar, wrong.href);
  assert.equal(r.status, 401);
  assert.ok(!jar.has(url, 'hearth_session'));
  r = await request(jar, callback);  // the right state, but the sign-in is over
  assert.equal(r.status, 401);

  step('requests: a callback without the sign-in cookie (another browser) is refused');
  jar = new Jar();
  callback = await codeFor(jar, 'alice');
  r = await request(new Jar(), callback);
  assert.equal(r.status, 401);

  step("requests: a code swapped into another sign-in (its PKCE verifier and nonce) is refused");
  const victim = new Jar();
  const attacker = new Jar();
  const attackerCallback = new URL(await codeFor(attacker, 'carol'));
  start = await request(victim, `${url}/login/oidc`);
  state = new URL(start.location).searchParams.get('state');
  r = await request(victim, `${url}/login/oidc/callback?code=${encodeURIComponent(attackerCallback.searchParams.get('code'))}&state=${state}`);
  assert.equal(r.status, 401);
  assert.ok(!victim.has(url, 'hearth_session'));

  step('requests: an answer naming another issuer (iss) is refused');
  jar = new Jar();
  callback = await codeFor(jar, 'alice');
  const mixed = new URL(callback);
  mixed.searchParams.set('iss', 'https://idp.invalid');
  r = await request(jar, mixed.href);
  assert.equal(r.status, 401);

  step("requests: the provider's error answer is shown as a failed sign-in");
  jar = new Jar();
  start = await request(jar, `${url}/login/oidc`);
  state = new URL(start.location).searchParams.get('state');
  r = await request(jar, `${url}/login/oidc/callback?error=access_denied&state=${state}`);
  assert.equal(r.status, 401);
  assert.ok(marked(r, 'oidc-failed'));

  console.log('oidc browser test: passed');
} finally {
  for (const context of contexts) await context.close().catch(() => {});
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
}
