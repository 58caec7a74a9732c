// Exemptions: those in force (or all, with those revoked or expired), each with its device or
// owner, check, end, reason and who granted it; an admin session can revoke one (confirmed).
// Granting is on the device's page, where the device and its failing check are known.
import { del, get } from './api.js';
import { deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';

export async function renderExemptions(main, session, params) {
  const all = params.get('all') === 'true';
  const list = await get('exemptions', { active: all ? '' : 'true', limit: 1000 });
  const admin = session.role === 'admin';
  const rows = list.exemptions.map((e) => {
    const revoke = admin && e.active ? el('button', { type: 'button', class: 'danger', 'data-write': 'true',
      'data-revoke': e.exemption_id, onclick: async () => {
        if (!window.confirm(t('exemptions.revokeConfirm', { check: e.check, id: e.exemption_id }))) return;
        await del(`exemptions/${e.exemption_id}`);
        await renderExemptions(main, session, params);
      } }, t('exemptions.revoke')) : null;
    const state = e.active ? t('exemptions.active') : e.revoked_at ? t('exemptions.revoked', { at: when(e.revoked_at) })
      : t('exemptions.expired', { at: when(e.expired_at || e.until) });
    return el('tr', { 'data-exemption': e.exemption_id },
      el('td', {}, e.device_id
        ? el('a', { href: `#/device/${encodeURIComponent(e.device_id)}` }, el('code', {}, deviceText(e.device_id)))
        : [t('exemptions.owner'), ' ', deviceText(e.owner)]),
      el('td', {}, deviceText(e.check)),
      el('td', {}, when(e.until)),
      el('td', {}, deviceText(e.reason)),
      el('td', {}, deviceText(e.created_by), el('br'), when(e.created_at)),
      el('td', {}, state),
      admin ? el('td', {}, revoke) : null);
  });
  const cols = ['col.deviceOrOwner', 'col.check', 'col.until', 'col.reason', 'col.grantedBy', 'col.state'];
  show(main,
    el('h1', {}, t('exemptions.title')),
    el('p', {}, t('exemptions.help'), ' ',
      el('a', { href: all ? '#/exemptions' : '#/exemptions?all=true', id: 'exemptions-toggle' },
        t(all ? 'exemptions.showActive' : 'exemptions.showAll'))),
    rows.length === 0 ? el('p', { id: 'no-exemptions' }, t('exemptions.none')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'exemptions-table' },
        el('thead', {}, el('tr', {}, cols.map((k) => el('th', { scope: 'col' }, t(k))), admin ? el('th', { scope: 'col' }, t('col.actions')) : null)),
        el('tbody', {}, rows))));
}
