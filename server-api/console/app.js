// The console's entry: the session, the header (navigation, who is signed in, sign-out) and the
// page of the location's hash (#/, #/devices?..., #/device/ID).
import { ApiError, currentSession, logout } from './api.js';
import { renderAudit } from './audit.js';
import { renderDevice } from './device.js';
import { renderDevices } from './devices.js';
import { el, show } from './dom.js';
import { renderExemptions } from './exemptions.js';
import { renderFeed } from './feed.js';
import { t } from './i18n.js';
import { renderOverview } from './overview.js';
import { renderPolicies } from './policies.js';
import { renderReport } from './report.js';
import { renderSecrets } from './secrets.js';
import { renderSignIn } from './signin.js';
import { renderWebhooks } from './webhooks.js';

const main = document.getElementById('main');
let session = null;

function routeOf(hash) {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  return { path: path || '/', params: new URLSearchParams(query) };
}

function renderHeader(route) {
  const nav = document.getElementById('nav');
  const link = (href, key, active) => el('a', { href, 'aria-current': active ? 'page' : null }, t(key));
  show(nav,
    link('#/', 'nav.overview', route.path === '/'),
    link('#/devices', 'nav.devices', route.path.startsWith('/device')),
    link('#/feed', 'nav.feed', route.path === '/feed'),
    link('#/exemptions', 'nav.exemptions', route.path === '/exemptions'),
    link('#/webhooks', 'nav.webhooks', route.path === '/webhooks'),
    link('#/report', 'nav.report', route.path === '/report'),
    link('#/secrets', 'nav.secrets', route.path === '/secrets'),
    link('#/policies', 'nav.policies', route.path === '/policies'),
    session.role === 'admin' ? link('#/audit', 'nav.audit', route.path === '/audit') : null);
  show(document.getElementById('who'),
    el('span', { id: 'who-role', 'data-role': session.role },
      t('who.role', { name: session.token_name, role: session.role })),
    el('button', { type: 'button', id: 'logout', onclick: () => logout() }, t('logout')));
}

function renderError(error) {
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign('/');
    return;
  }
  show(main, el('p', { class: 'error', role: 'alert' }, t('error', { message: error.message })));
}

async function render() {
  const route = routeOf(window.location.hash);
  renderHeader(route);
  show(main, el('p', {}, t('loading')));
  document.body.dataset.page = 'loading';
  try {
    let page;
    if (route.path.startsWith('/device/')) {
      page = 'device';
      await renderDevice(main, session, decodeURIComponent(route.path.slice('/device/'.length)));
    } else if (route.path === '/devices') {
      page = 'devices';
      await renderDevices(main, route.params);
    } else if (route.path === '/feed') {
      page = 'feed';
      await renderFeed(main);
    } else if (route.path === '/exemptions') {
      page = 'exemptions';
      await renderExemptions(main, session, route.params);
    } else if (route.path === '/webhooks') {
      page = 'webhooks';
      await renderWebhooks(main, session);
    } else if (route.path === '/report') {
      page = 'report';
      renderReport(main, route.params);
    } else if (route.path === '/policies') {
      page = 'policies';
      await renderPolicies(main, session);
    } else if (route.path === '/secrets') {
      page = 'secrets';
      await renderSecrets(main, session, route.params);
    } else if (route.path === '/audit' && session.role === 'admin') {
      page = 'audit';
      await renderAudit(main);
    } else {
      page = 'overview';
      await renderOverview(main);
    }
    document.body.dataset.page = page;
    main.focus();
  } catch (error) {
    document.body.dataset.page = 'error';
    renderError(error);
  }
}

async function start() {
  try {
    session = await currentSession();
  } catch (error) {
    show(main, el('p', { class: 'error', role: 'alert' }, t('error', { message: error.message })));
    return;
  }
  if (!session) {
    document.body.dataset.page = 'signin';
    renderSignIn(main);
    return;
  }
  if (window.location.pathname !== '/') {
    window.location.replace('/');
    return;
  }
  document.body.dataset.role = session.role;
  window.addEventListener('hashchange', render);
  await render();
}

start();
