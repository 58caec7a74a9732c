// The devices table with the API's filters (search in hostname and owner, status, failing check,
// level, owner, failing for N days), its two orders (device id; failing longest first), paging by
// the API's cursor, and the view as CSV (the API's export with the same filters). The filters live
// in the location's hash, so a filtered view can be bookmarked and the back button works.
import { get } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';
import { STATUSES } from './overview.js';

const FILTERS = ['q', 'status', 'check', 'level', 'owner', 'failing_for', 'sort'];
const PAGE = 50;

function go(params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) query.set(k, v);
  const qs = query.toString();
  window.location.hash = `#/devices${qs ? `?${qs}` : ''}`;
}

function filterForm(params) {
  const field = (name, key, input) => el('label', {}, t(key), input);
  const value = (name) => params.get(name) || '';
  const status = el('select', { name: 'status', id: 'filter-status' },
    el('option', { value: '' }, t('status.any')),
    [...STATUSES, 'retired'].map((s) => el('option', { value: s, selected: value('status') === s }, t(`status.${s}`))));
  const text = (name, type = 'text') => el('input', { name, id: `filter-${name}`, type, value: value(name), min: type === 'number' ? 0 : null });
  const sort = el('select', { name: 'sort', id: 'filter-sort' },
    el('option', { value: '' }, t('devices.sortId')),
    el('option', { value: 'failing_since', selected: value('sort') === 'failing_since' }, t('devices.sortFailing')));
  const form = el('form', { class: 'filters', id: 'filters', role: 'search' },
    field('q', 'devices.search', text('q', 'search')),
    field('status', 'devices.status', status),
    field('check', 'devices.check', text('check')),
    field('level', 'devices.level', text('level')),
    field('owner', 'devices.owner', text('owner')),
    field('failing_for', 'devices.failingFor', text('failing_for', 'number')),
    field('sort', 'devices.sort', sort),
    el('button', { type: 'submit' }, t('devices.apply')),
    el('button', { type: 'button', onclick: () => go({}) }, t('devices.clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go(Object.fromEntries(FILTERS.map((f) => [f, String(data.get(f) || '').trim()])));
  });
  return form;
}

export async function renderDevices(main, params) {
  const query = { limit: PAGE, after: params.get('after') || '' };
  for (const f of FILTERS) query[f] = params.get(f) || '';
  const list = await get('devices', query);
  const rows = list.devices.map((d) => el('tr', { 'data-device': d.device_id },
    el('td', {}, el('a', { href: `#/device/${encodeURIComponent(d.device_id)}` }, deviceText(d.hostname))),
    el('td', {}, d.owner ? deviceText(d.owner) : t('none')),
    el('td', {}, deviceText(d.level)),
    el('td', { class: `status status-${d.status}` }, t(`status.${d.status}`)),
    el('td', {}, d.failing_since ? when(d.failing_since) : t('none')),
    el('td', {}, when(d.last_seen))));
  const current = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || '']));
  const pager = el('div', { class: 'pager' },
    params.get('after') ? el('button', { type: 'button', id: 'first-page', onclick: () => go(current) }, t('devices.first')) : null,
    list.next ? el('button', { type: 'button', id: 'next-page', onclick: () => go({ ...current, after: list.next }) }, t('devices.next')) : null);
  const csvQuery = new URLSearchParams(Object.entries(current).filter(([, v]) => v));
  const csv = el('a', { href: `/api/v1/devices.csv${csvQuery.toString() ? `?${csvQuery}` : ''}`, id: 'devices-csv',
    class: 'button', download: 'hearth-devices.csv' }, t('devices.csv'));
  const cols = ['col.hostname', 'col.owner', 'col.level', 'col.status', 'col.failingSince', 'col.lastSeen'];
  show(main,
    el('h1', {}, t('devices.title')),
    filterForm(params),
    el('p', { class: 'actions' }, csv),
    rows.length === 0 ? el('p', { id: 'no-devices' }, t('devices.none')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'devices' },
        el('caption', {}, attestation()),
        el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, t(c))))),
        el('tbody', {}, rows))),
    pager);
}
