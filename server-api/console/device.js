// One device: its facts, each check's verdict, summary, evidence (rendered as nested lists),
// the advice the person got, failing since, fix by, exemptions; for an admin session, retire
// with a confirmation that names the device.
import { get, post } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';

// Evidence (any JSON) as nested definition lists and lists, every value as inert text.
function evidence(value, depth = 0) {
  if (depth > 8) return deviceText(JSON.stringify(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return t('none');
    return el('ul', { class: 'evidence' }, value.map((v) => el('li', {}, evidence(v, depth + 1))));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return t('none');
    return el('dl', { class: 'evidence' },
      entries.map(([k, v]) => [el('dt', {}, deviceText(k)), el('dd', {}, evidence(v, depth + 1))]));
  }
  return deviceText(value === null ? 'null' : String(value));
}

function facts(d) {
  const row = (key, value) => [el('dt', {}, t(key)), el('dd', {}, value)];
  return el('dl', { class: 'facts', id: 'device-facts' },
    row('device.id', el('code', {}, d.device_id)),
    row('col.owner', d.owner ? deviceText(d.owner) : t('none')),
    row('col.level', deviceText(d.level)),
    row('col.status', el('span', { class: `status status-${d.status}`, id: 'device-status' }, t(`status.${d.status}`))),
    row('col.failingSince', d.failing_since ? when(d.failing_since) : t('none')),
    row('col.lastSeen', when(d.last_seen)),
    row('device.enrolled', when(d.enrolled_at)),
    row('device.agent', deviceText(d.agent_version)));
}

function checksTable(d) {
  const results = new Map((d.result?.checks || []).map((c) => [c.id, c]));
  const rows = d.checks.map((c) => {
    const full = results.get(c.id) || {};
    return el('tr', { 'data-check': c.id },
      el('th', { scope: 'row' }, deviceText(c.id)),
      el('td', { class: `verdict-${c.verdict}` }, deviceText(c.verdict)),
      el('td', {}, deviceText(c.summary),
        full.remediation ? el('p', {}, el('strong', {}, `${t('device.remediation')}: `), deviceText(full.remediation)) : null),
      el('td', {}, c.verdict === 'fail' && c.since ? when(c.since) : t('none')),
      el('td', {}, c.fix_by ? when(c.fix_by) : t('none')),
      el('td', {}, c.exempt_until ? when(c.exempt_until) : t('none')),
      el('td', { class: 'evidence-cell' }, full.evidence !== undefined ? evidence(full.evidence) : t('none')));
  });
  const cols = ['col.check', 'col.verdict', 'col.summary', 'col.since', 'col.fixBy', 'col.exemptUntil', 'device.evidence'];
  return el('div', { class: 'table-wrap' }, el('table', { id: 'checks' },
    el('caption', {}, attestation()),
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, t(c))))),
    el('tbody', {}, rows)));
}

async function exemptionsOf(d) {
  const list = await get('exemptions', { active: 'true', limit: 1000 });
  const mine = (list.exemptions || []).filter((e) => e.device_id === d.device_id || (e.owner && e.owner === d.owner));
  if (mine.length === 0) return el('p', { id: 'exemptions' }, t('device.noExemptions'));
  return el('ul', { id: 'exemptions' }, mine.map((e) => el('li', {},
    deviceText(t('device.exemptionLine', { check: e.check, until: when(e.until), reason: e.reason, by: e.created_by })))));
}

// Retire, behind a dialog that names the device (hostname and id) before anything is sent.
function retireControl(main, session, d) {
  const message = el('p', {}, t('device.retireConfirm', { host: '\u0000', id: d.device_id }));
  // The hostname goes in as inert text where the placeholder is.
  const [before, after] = message.textContent.split('\u0000');
  show(message, before, deviceText(d.hostname), after);
  const dialog = el('dialog', { id: 'retire-dialog', 'aria-labelledby': 'retire-title' },
    el('h2', { id: 'retire-title' }, t('device.retire')),
    message,
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', id: 'retire-confirm', onclick: async () => {
        dialog.close();
        await post(`devices/${encodeURIComponent(d.device_id)}/retire`);
        await renderDevice(main, session, d.device_id);
        main.prepend(el('p', { role: 'status', id: 'retired-note' }, t('device.retired')));
      } }, t('confirm')),
      el('button', { type: 'button', id: 'retire-cancel', onclick: () => dialog.close() }, t('cancel'))));
  const open = el('button', { type: 'button', class: 'danger', id: 'retire', 'data-write': 'true',
    onclick: () => dialog.showModal() }, t('device.retire'));
  return [el('div', { class: 'actions' }, open), dialog];
}

export async function renderDevice(main, session, id) {
  const d = await get(`devices/${encodeURIComponent(id)}`);
  const exemptions = await exemptionsOf(d);
  const canWrite = session.role === 'admin' && d.status !== 'retired';
  show(main,
    el('h1', { id: 'device-title' }, deviceText(d.hostname), ' ', attestation()),
    facts(d),
    canWrite ? retireControl(main, session, d) : null,
    el('h2', {}, t('device.checks')),
    checksTable(d),
    el('h2', {}, t('device.exemptions')),
    exemptions);
}
