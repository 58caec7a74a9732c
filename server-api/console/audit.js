// The audit log (admin sessions only; the API refuses it to read tokens): the newest entries
// first, who did what to what, with the entry's details.
import { get } from './api.js';
import { deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';

const KEEP = 200;

function details(detail) {
  if (!detail || typeof detail !== 'object') return t('none');
  const entries = Object.entries(detail).filter(([k]) => k !== 'token_id');
  if (entries.length === 0) return t('none');
  return el('dl', { class: 'evidence' }, entries.map(([k, v]) =>
    [el('dt', {}, deviceText(k)), el('dd', {}, deviceText(typeof v === 'string' ? v : JSON.stringify(v)))]));
}

export async function renderAudit(main) {
  const page = await get('audit', { newest: KEEP });
  const rows = page.entries.reverse().map((a) => el('tr', { 'data-action': a.action },
    el('td', {}, el('time', { datetime: a.at }, when(a.at))),
    el('td', {}, deviceText(a.actor)),
    el('td', {}, el('code', {}, deviceText(a.action))),
    el('td', {}, a.target.startsWith('device:')
      ? el('a', { href: `#/device/${encodeURIComponent(a.target.slice(7))}` }, deviceText(a.target))
      : deviceText(a.target)),
    el('td', {}, details(a.detail))));
  show(main,
    el('h1', {}, t('audit.title')),
    el('p', {}, t('audit.help')),
    rows.length === 0 ? el('p', {}, t('audit.none')) : el('div', { class: 'table-wrap' }, el('table', { id: 'audit' },
      el('thead', {}, el('tr', {}, ['col.at', 'col.actor', 'col.action', 'col.target', 'col.detail'].map((k) => el('th', { scope: 'col' }, t(k))))),
      el('tbody', {}, rows))));
}
