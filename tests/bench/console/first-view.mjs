// The IT console's first views in Debian's headless Chromium (issue 15's figures): for each run,
// a fresh browser signs in (not timed), then loads the devices page and the overview from a
// new page; prints, per view, the time from navigation to the page being interactive (its data
// shown: body[data-page]) and the bytes transferred (headers and bodies, as the browser counts
// them). Run by console-first-view, which starts the server on a large fleet.
//   node first-view.mjs URL TOKEN RUNS
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../browser/package.json'));
const { chromium } = require('playwright-core');

const [url, token, runsText] = process.argv.slice(2);
const runs = Number(runsText || 5);

async function view(context, hash, page) {
  const tab = await context.newPage();
  let bytes = 0;
  const sizes = [];
  tab.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => {
    bytes += s.responseBodySize + s.responseHeadersSize;
  })));
  const start = Date.now();
  await tab.goto(`${url}/${hash}`);
  await tab.waitForSelector(`body[data-page="${page}"]`, { timeout: 60000 });
  const ms = Date.now() - start;
  await Promise.all(sizes);
  await tab.close();
  return { ms, bytes };
}

const results = { devices: [], overview: [] };
for (let i = 0; i < runs; i += 1) {
  const profile = mkdtempSync(path.join(tmpdir(), 'hearth-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 768 },
  });
  const page = context.pages()[0] || await context.newPage();
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-page="signin"]');
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
  await page.waitForSelector('body[data-page="overview"]', { timeout: 60000 });
  // Each view from a fresh cache: what a first visit costs.
  for (const [hash, name] of [['#/devices', 'devices'], ['#/', 'overview']]) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
    results[name].push(await view(context, hash, name));
  }
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const budgets = { devices: [1500, 300 * 1024], overview: [1500, 300 * 1024] };
let missed = false;
console.log(`${'view'.padEnd(12)} ${'median ms'.padStart(10)} ${'max ms'.padStart(8)} ${'median KB'.padStart(10)} ${'budget'.padStart(16)}`);
for (const [name, list] of Object.entries(results)) {
  const ms = median(list.map((r) => r.ms));
  const max = Math.max(...list.map((r) => r.ms));
  const kb = median(list.map((r) => r.bytes)) / 1024;
  const over = max > budgets[name][0] || kb * 1024 > budgets[name][1];
  missed = missed || over;
  console.log(`${name.padEnd(12)} ${String(ms).padStart(10)} ${String(max).padStart(8)} ${kb.toFixed(1).padStart(10)} ${'1500 ms, 300 KB'.padStart(16)}${over ? '  MISSED' : ''}`);
}
console.log(`(${runs} runs, each in a fresh browser with an empty cache)`);
process.exit(missed ? 1 : 0);
