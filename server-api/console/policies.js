// Policies per level: each level's policy in force (its checks, which are required, their grace
// periods) and, for an admin session, a new version edited as the document itself: the server
// validates it (its message names the key and what it expected), previews what it would do with
// the devices' latest results ("N devices would fail"), and stores it signed.
import { get, post, postText } from './api.js';
import { deviceText, el, show } from './dom.js';
import { companyText, number, t, when } from './i18n.js';

function checksTable(policy) {
  const checks = Object.entries(policy.checks || {});
  return el('div', { class: 'table-wrap' }, el('table', { class: 'policy-checks' },
    el('thead', {}, el('tr', {}, ['col.check', 'policies.required', 'policies.grace'].map((k) => el('th', { scope: 'col' }, t(k))))),
    el('tbody', {}, checks.map(([id, c]) => el('tr', { 'data-check': id },
      el('td', {}, deviceText(id)),
      el('td', {}, c.required === false ? t('policies.no') : t('policies.yes')),
      el('td', {}, String(c.grace_days ?? policy.grace_days ?? 0)))))));
}

function previewText(p) {
  return el('div', { id: 'policy-preview', role: 'status' },
    el('p', {}, t('policies.previewLine', {
      devices: number(p.devices), now: number(p.failing_now), then: number(p.would_fail),
    })),
    p.version_ok ? null : el('p', { class: 'error' }, t('policies.versionLow', { current: p.current_version })),
    el('ul', {}, p.checks.map((c) => el('li', { 'data-check': c.check },
      t(c.required ? 'policies.previewCheck' : 'policies.previewCheckOptional',
        { check: c.check, failing: number(c.failing), unknown: number(c.unknown) })))),
    el('p', { class: 'muted' }, t('policies.previewNote')));
}

function editor(main, session, entry) {
  const next = { ...entry.policy, version: entry.version + 1 };
  const area = el('textarea', { id: 'policy-text', rows: 18, spellcheck: 'false', 'aria-label': t('policies.document') });
  area.value = JSON.stringify(next, null, 2);
  const result = el('div', { id: 'policy-result' });
  const run = async (action) => {
    show(result);
    try {
      if (action === 'preview') {
        show(result, previewText(await postText('policies/preview', area.value)));
      } else {
        const saved = await postText('policies', area.value);
        await renderPolicies(main, session);
        main.prepend(el('p', { role: 'status', id: 'policy-saved' }, t('policies.saved', { level: saved.level, version: saved.version })));
      }
    } catch (e) {
      show(result, el('p', { class: 'error', role: 'alert', id: 'policy-error' }, t('error', { message: e.message })));
    }
  };
  return el('details', { class: 'policy-edit', 'data-level': entry.level },
    el('summary', {}, t('policies.edit')),
    el('p', {}, t('policies.editHelp')),
    area,
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'policy-preview-button', 'data-write': 'true', onclick: () => run('preview') }, t('policies.preview')),
      el('button', { type: 'button', id: 'policy-save', 'data-write': 'true', onclick: () => run('save') }, t('policies.save'))),
    result);
}

export async function renderPolicies(main, session) {
  const list = await get('policies');
  const admin = session.role === 'admin';
  show(main,
    el('h1', {}, t('policies.title')),
    el('p', {}, t('policies.help')),
    list.policies.map((p) => el('section', { class: 'policy', 'data-level': p.level },
      el('h2', {}, t('policies.level', { level: p.level, version: p.version })),
      el('p', { class: 'muted' }, t('policies.since', { at: when(p.created_at) })),
      p.policy?.description ? el('p', {}, deviceText(companyText(p.policy.description))) : null,
      checksTable(p.policy || {}),
      admin ? editor(main, session, p) : null)));
}
