// The console's entry: the session, the header (navigation, who is signed in, sign-out) and the
// page of the location's hash (#/, #/devices?..., #/device/ID).
import { ApiError, currentSession, logout } from './api.js';
import { renderDevice } from './device.js';
import { renderDevices } from './devices.js';
import { el, show } from './dom.js';
import { t } from './i18n.js';
import { renderOverview } from './overview.js';
import { renderSignIn } from './signin.js';

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
    link('#/devices', 'nav.devices', route.path.startsWith('/device')));
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
