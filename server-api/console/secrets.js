// Enrolment secrets: every secret by kind (rollout, limited, single-use, per-person) with its
// level, owner, uses and state; for an admin session, create one (its value is shown once, here,
// and never again: the server keeps only its hash) and revoke one.
import { del, get, post } from './api.js';
import { deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';

const KINDS = ['rollout', 'limited', 'single-use', 'per-person'];

function createForm(main, session, levels, params) {
  const error = el('p', { class: 'error', role: 'alert', id: 'secret-error' });
  const kind = el('select', { name: 'kind', id: 'secret-kind' },
    KINDS.map((k) => el('option', { value: k }, t(`secrets.kind.${k}`))));
  const uses = el('input', { type: 'number', name: 'uses', id: 'secret-uses', min: 2, max: 1000000, value: 40 });
  const owner = el('input', { type: 'text', name: 'owner', id: 'secret-owner', maxlength: 200 });
  const usesLabel = el('label', {}, t('secrets.uses'), uses);
  const ownerLabel = el('label', {}, t('secrets.owner'), owner);
  const shape = () => {
    usesLabel.hidden = kind.value !== 'limited';
    ownerLabel.hidden = kind.value !== 'per-person';
    owner.required = kind.value === 'per-person';
  };
  kind.addEventListener('change', shape);
  const form = el('form', { id: 'secret-form', class: 'stacked' },
    el('label', {}, t('col.level'), el('select', { name: 'level', id: 'secret-level' },
      levels.map((l) => el('option', { value: l }, l)))),
    el('label', {}, t('secrets.kind'), kind),
    usesLabel, ownerLabel,
    el('label', {}, t('secrets.expiresDays'), el('input', { type: 'number', name: 'expires_days', id: 'secret-expires', min: 1, max: 3650, value: 14 })),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'approval', id: 'secret-approval' }), ' ', t('secrets.approval')),
    error,
    el('button', { type: 'submit', id: 'secret-create' }, t('secrets.create')));
  shape();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { level: data.get('level'), approval: data.get('approval') === 'on' };
    if (data.get('expires_days')) body.expires_days = Number(data.get('expires_days'));
    if (kind.value === 'single-use') body.uses = 1;
    if (kind.value === 'limited') body.uses = Number(data.get('uses'));
    if (kind.value === 'per-person') body.owner = String(data.get('owner') || '').trim();
    show(error);
    try {
      const made = await post('secrets', body);
      await renderSecrets(main, session, params, made);
    } catch (e) {
      show(error, t('error', { message: e.message }));
    }
  });
  return el('details', { id: 'secret-new' }, el('summary', {}, t('secrets.new')), form);
}

// `made`: a secret just created, whose value is shown this once.
export async function renderSecrets(main, session, params, made = null) {
  const admin = session.role === 'admin';
  const only = params.get('kind') || '';
  const [list, policies] = await Promise.all([get('secrets'), admin ? get('policies') : Promise.resolve({ policies: [] })]);
  // A kind is "rollout", "limited", "single-use" or "per-person", "+approval" when its devices
  // wait for approval (shown in the state column).
  const base = (s) => s.kind.split('+')[0];
  const shown = list.secrets.filter((s) => !only || base(s) === only);
  const rows = shown.map((s) => el('tr', { 'data-secret': s.secret_id, 'data-kind': base(s), 'data-state': s.state },
    el('td', {}, String(s.secret_id)),
    el('td', {}, t(`secrets.kind.${base(s)}`)),
    el('td', {}, deviceText(s.level)),
    el('td', {}, s.owner ? deviceText(s.owner) : t('none')),
    el('td', {}, s.uses_left === null ? t('secrets.usesUnlimited', { used: s.uses }) : t('secrets.usesLeft', { used: s.uses, left: s.uses_left })),
    el('td', {}, s.expires_at ? when(s.expires_at) : t('never')),
    el('td', {}, t(`secrets.state.${s.state}`), s.approval ? [el('br'), t('secrets.needsApproval')] : null),
    admin ? el('td', {}, s.state === 'active' ? el('button', { type: 'button', class: 'danger', 'data-write': 'true',
      'data-revoke': s.secret_id, onclick: async () => {
        if (!window.confirm(t('secrets.revokeConfirm', { id: s.secret_id }))) return;
        await del(`secrets/${s.secret_id}`);
        await renderSecrets(main, session, params);
      } }, t('secrets.revoke')) : null) : null));
  const filter = el('p', { class: 'filters' }, el('label', {}, t('secrets.kind'),
    el('select', { id: 'secret-filter', onchange: (e) => { window.location.hash = e.target.value ? `#/secrets?kind=${e.target.value}` : '#/secrets'; } },
      el('option', { value: '' }, t('status.any')),
      KINDS.map((k) => el('option', { value: k, selected: k === only }, t(`secrets.kind.${k}`))))));
  const once = made ? el('div', { class: 'once', role: 'status', id: 'secret-once' },
    el('p', {}, el('strong', {}, t('secrets.once'))),
    el('p', {}, el('code', { id: 'secret-value' }, made.secret)),
    el('p', {}, t('secrets.onceHelp'))) : null;
  const cols = ['secrets.id', 'secrets.kind', 'col.level', 'col.owner', 'secrets.usesCol', 'secrets.expires', 'col.state'];
  show(main,
    el('h1', {}, t('secrets.title')),
    el('p', {}, t('secrets.help')),
    once,
    admin ? createForm(main, session, policies.policies.map((p) => p.level), params) : null,
    filter,
    rows.length === 0 ? el('p', { id: 'no-secrets' }, t('secrets.none')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'secrets-table' },
        el('thead', {}, el('tr', {}, cols.map((k) => el('th', { scope: 'col' }, t(k))), admin ? el('th', { scope: 'col' }, t('col.actions')) : null)),
        el('tbody', {}, rows))));
}
