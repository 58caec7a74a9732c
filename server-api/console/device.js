// One device: its facts, each check's verdict, summary, evidence (evidence.js: a layout per check),
// the advice the person got, failing since, fix by, exemptions, its history; for an admin
// session: grant an exemption, set the owner, change the level, approve / reject, retire (the
// ones that cannot be undone with a confirmation that names the device).
import { get, post } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { eventText } from './events.js';
import { renderEvidence } from './evidence.js';
import { t, when } from './i18n.js';

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

// The advice the person got: the numbered steps of each piece of advice (the report's `advice`,
// in English as sent; its `code` names it), else the one-line `remediation` of older agents.
function adviceGiven(full) {
  const label = el('strong', {}, `${t('device.remediation')}: `);
  const advice = Array.isArray(full.advice) ? full.advice.filter((a) => a && Array.isArray(a.steps)) : [];
  if (advice.length > 0) {
    return el('div', { class: 'advice' }, label, advice.map((a) => el('div', { 'data-advice': typeof a.code === 'string' ? a.code : '' },
      a.heading ? el('p', {}, deviceText(a.heading)) : null,
      el('ol', {}, a.steps.map((st) => el('li', {}, deviceText(st)))))));
  }
  return full.remediation ? el('p', {}, label, deviceText(full.remediation)) : null;
}

function checksTable(d) {
  const results = new Map((d.result?.checks || []).map((c) => [c.id, c]));
  const rows = d.checks.map((c) => {
    const full = results.get(c.id) || {};
    return el('tr', { 'data-check': c.id },
      el('th', { scope: 'row' }, deviceText(c.id)),
      el('td', { class: `verdict-${c.verdict}` }, deviceText(c.verdict)),
      el('td', {}, deviceText(c.summary),
        adviceGiven(full)),
      el('td', {}, c.verdict === 'fail' && c.since ? when(c.since) : t('none')),
      el('td', {}, c.fix_by ? when(c.fix_by) : t('none')),
      el('td', {}, c.exempt_until ? when(c.exempt_until) : t('none')),
      el('td', { class: 'evidence-cell' }, full.evidence !== undefined ? renderEvidence(c.id, full.evidence) : t('none')));
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
  return el('ul', { id: 'exemptions' }, mine.map((e) => el('li', { 'data-exemption': e.exemption_id, 'data-check': e.check },
    deviceText(t('device.exemptionLine', { check: e.check, until: when(e.until), reason: e.reason, by: e.created_by })))));
}

// A modal dialog with a form: `fields` are [label key, input] pairs; `submit` gets the form's
// data and returns a promise; its error is shown in the dialog (the server's message), not lost.
function formDialog(id, titleKey, fields, submit, intro = null) {
  const error = el('p', { class: 'error', role: 'alert', id: `${id}-error` });
  const form = el('form', { method: 'dialog', id: `${id}-form` },
    intro,
    fields.map(([key, input]) => el('label', {}, t(key), input)),
    error,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', id: `${id}-confirm` }, t('confirm')),
      el('button', { type: 'button', id: `${id}-cancel`, onclick: () => dialog.close() }, t('cancel'))));
  const dialog = el('dialog', { id, 'aria-labelledby': `${id}-title` },
    el('h2', { id: `${id}-title` }, t(titleKey)), form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(error);
    try {
      await submit(new FormData(form));
      dialog.close();
    } catch (e) {
      show(error, t('error', { message: e.message }));
    }
  });
  return dialog;
}

// The write controls of an admin session: exemption, owner, level, approve / reject for a device
// awaiting approval, and retire; each behind a dialog, each re-renders the device when done.
function adminControls(main, session, d, levels) {
  const again = async (noteKey) => {
    await renderDevice(main, session, d.device_id);
    main.prepend(el('p', { role: 'status', id: 'device-note' }, t(noteKey)));
  };
  const path = (tail) => `devices/${encodeURIComponent(d.device_id)}/${tail}`;
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const exemption = formDialog('exempt-dialog', 'device.exempt', [
    ['col.check', el('select', { name: 'check', id: 'exempt-check', required: true },
      d.checks.map((c) => el('option', { value: c.id, selected: c.verdict === 'fail' }, c.id)))],
    ['device.exemptUntilDate', el('input', { type: 'date', name: 'until', id: 'exempt-until', required: true, min: tomorrow, value: tomorrow })],
    ['device.exemptReason', el('input', { type: 'text', name: 'reason', id: 'exempt-reason', required: true, maxlength: 500 })],
  ], async (data) => {
    await post('exemptions', { device_id: d.device_id, check: data.get('check'), until: data.get('until'), reason: data.get('reason') });
    await again('device.exempted');
  });
  const owner = formDialog('owner-dialog', 'device.ownerEdit', [
    ['col.owner', el('input', { type: 'text', name: 'owner', id: 'owner-input', value: d.owner || '', maxlength: 200 })],
  ], async (data) => {
    const value = String(data.get('owner') || '').trim();
    await post(path('owner'), { owner: value === '' ? null : value });
    await again('device.ownerSet');
  }, el('p', {}, t('device.ownerHelp')));
  const level = formDialog('level-dialog', 'device.levelChange', [
    ['col.level', el('select', { name: 'level', id: 'level-select' },
      levels.map((l) => el('option', { value: l, selected: l === d.level }, l)))],
  ], async (data) => {
    await post(path('level'), { level: data.get('level') });
    await again('device.levelSet');
  });
  const confirmDialog = (id, titleKey, questionKey, action, noteKey) => {
    const message = el('p', {}, t(questionKey, { host: '\u0000', id: d.device_id }));
    // The hostname goes in as inert text where the placeholder is.
    const [before, after] = message.textContent.split('\u0000');
    show(message, before, deviceText(d.hostname), after);
    const dialog = el('dialog', { id: `${id}-dialog`, 'aria-labelledby': `${id}-title` },
      el('h2', { id: `${id}-title` }, t(titleKey)),
      message,
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'danger', id: `${id}-confirm`, onclick: async () => {
          dialog.close();
          await post(path(action));
          await again(noteKey);
        } }, t('confirm')),
        el('button', { type: 'button', id: `${id}-cancel`, onclick: () => dialog.close() }, t('cancel'))));
    return dialog;
  };
  const dialogs = [exemption, owner, level];
  const buttons = [
    el('button', { type: 'button', id: 'exempt', 'data-write': 'true', onclick: () => exemption.showModal() }, t('device.exempt')),
    el('button', { type: 'button', id: 'owner-edit', 'data-write': 'true', onclick: () => owner.showModal() }, t('device.ownerEdit')),
    levels.length > 1 ? el('button', { type: 'button', id: 'level-change', 'data-write': 'true', onclick: () => level.showModal() }, t('device.levelChange')) : null,
  ];
  if (d.pending_approval) {
    const approve = confirmDialog('approve', 'device.approve', 'device.approveConfirm', 'approve', 'device.approved');
    const reject = confirmDialog('reject', 'device.reject', 'device.rejectConfirm', 'reject', 'device.rejected');
    dialogs.push(approve, reject);
    buttons.push(
      el('button', { type: 'button', id: 'approve', 'data-write': 'true', onclick: () => approve.showModal() }, t('device.approve')),
      el('button', { type: 'button', class: 'danger', id: 'reject', 'data-write': 'true', onclick: () => reject.showModal() }, t('device.reject')));
  }
  const retire = confirmDialog('retire', 'device.retire', 'device.retireConfirm', 'retire', 'device.retired');
  dialogs.push(retire);
  buttons.push(el('button', { type: 'button', class: 'danger', id: 'retire', 'data-write': 'true', onclick: () => retire.showModal() }, t('device.retire')));
  return [el('div', { class: 'actions', id: 'device-actions' }, buttons), dialogs];
}

// The device's history: its events (verdict changes, status changes, exemptions, retirement),
// newest first, from GET /api/v1/devices/ID/events.
async function timeline(d) {
  const page = await get(`devices/${encodeURIComponent(d.device_id)}/events`, { limit: 50 });
  if (page.events.length === 0) return el('p', { id: 'timeline' }, t('device.noEvents'));
  return el('ol', { id: 'timeline', class: 'timeline' }, page.events.map((e) => el('li', { 'data-type': e.type },
    el('time', { datetime: e.at }, when(e.at)), ' ', eventText(e))));
}

export async function renderDevice(main, session, id) {
  const d = await get(`devices/${encodeURIComponent(id)}`);
  const canWrite = session.role === 'admin' && d.status !== 'retired';
  const [exemptions, history, policies] = await Promise.all([
    exemptionsOf(d), timeline(d), canWrite ? get('policies') : Promise.resolve({ policies: [] })]);
  const levels = policies.policies.map((p) => p.level);
  show(main,
    el('h1', { id: 'device-title' }, deviceText(d.hostname), ' ', attestation()),
    facts(d),
    canWrite ? adminControls(main, session, d, levels) : null,
    el('h2', {}, t('device.checks')),
    checksTable(d),
    el('h2', {}, t('device.exemptions')),
    exemptions,
    el('h2', {}, t('device.history')),
    history);
}
