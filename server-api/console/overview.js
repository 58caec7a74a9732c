// The overview: devices per status (the API's own status filter, so the numbers are the API's)
// and, of the active devices, how many fail each check.
import { allDevices } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { number, t } from './i18n.js';

export const STATUSES = ['compliant', 'at_risk', 'noncompliant', 'unknown', 'stale', 'pending'];

export async function renderOverview(main) {
  const counts = await Promise.all(STATUSES.map(async (s) => (await allDevices({ status: s })).length));
  const devices = await allDevices();
  const failing = new Map();
  for (const d of devices) {
    for (const c of d.checks || []) {
      if (c.verdict === 'fail') failing.set(c.id, (failing.get(c.id) || 0) + 1);
    }
  }
  const cards = STATUSES.map((s, i) => el('div', { class: 'card', 'data-status': s },
    el('a', { href: `#/devices?status=${encodeURIComponent(s)}` },
      el('span', { class: 'count', 'data-count': counts[i] }, number(counts[i])),
      el('span', { class: `status status-${s}` }, t(`status.${s}`)))));
  const rows = [...failing.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([id, n]) => el('tr', { 'data-check': id },
      el('td', {}, el('a', { href: `#/devices?check=${encodeURIComponent(id)}` }, deviceText(id))),
      el('td', { 'data-count': n }, number(n))));
  show(main,
    el('h1', {}, t('overview.title')),
    el('p', {}, `${t('overview.total')}: `, el('strong', { id: 'total', 'data-count': devices.length }, number(devices.length))),
    el('h2', {}, t('overview.statuses'), ' ', attestation()),
    el('div', { class: 'cards', id: 'status-counts' }, cards),
    el('h2', {}, t('overview.failures'), ' ', attestation()),
    rows.length === 0 ? el('p', {}, t('overview.noFailures')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'check-failures' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('col.check')), el('th', { scope: 'col' }, t('col.count')))),
        el('tbody', {}, rows))));
}
