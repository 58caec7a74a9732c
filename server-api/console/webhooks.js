// Webhooks: where alerts go (the endpoint's host only: a URL may carry a credential), the event
// types and format; an admin session adds one, sends a test and removes one; each webhook's
// delivery log.
import { del, get, post } from './api.js';
import { deviceText, el, show } from './dom.js';
import { t, when } from './i18n.js';

// The event types a webhook can subscribe to (server-api/include/hearth/server/webhooks.h).
const EVENTS = ['device_noncompliant', 'device_compliant', 'check_failed', 'check_fixed', 'stale',
  'exemption_expiring', 'exemption_expired', 'enrolment_spike', 'duplicate_machine_id',
  'certificate_expiring', 'enrolled', 'pending', 'approved', 'rejected', 'retired', 'renewed'];

function addForm(main, session) {
  const error = el('p', { class: 'error', role: 'alert', id: 'webhook-error' });
  const form = el('form', { id: 'webhook-form', class: 'stacked' },
    el('label', {}, t('webhooks.url'), el('input', { type: 'url', name: 'url', id: 'webhook-url', required: true })),
    el('label', {}, t('webhooks.secret'), el('input', { type: 'password', name: 'secret', id: 'webhook-secret', required: true, minlength: 16, autocomplete: 'off' })),
    el('label', {}, t('webhooks.format'), el('select', { name: 'format', id: 'webhook-format' },
      ['json', 'slack', 'teams'].map((f) => el('option', { value: f }, t(`webhooks.format.${f}`))))),
    el('fieldset', {}, el('legend', {}, t('webhooks.events')),
      EVENTS.map((e) => el('label', { class: 'check' },
        el('input', { type: 'checkbox', name: 'events', value: e, checked: e === 'device_noncompliant' }), ' ', t(`event.${e}.title`)))),
    error,
    el('button', { type: 'submit', id: 'webhook-add' }, t('webhooks.add')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    show(error);
    try {
      await post('webhooks', { url: data.get('url'), secret: data.get('secret'), format: data.get('format'), events: data.getAll('events') });
      await renderWebhooks(main, session);
    } catch (e) {
      show(error, t('error', { message: e.message }));
    }
  });
  return el('details', { id: 'webhook-new' }, el('summary', {}, t('webhooks.new')), form);
}

async function deliveryLog(id) {
  const page = await get(`webhooks/${id}/deliveries`, { limit: 20 });
  if (page.deliveries.length === 0) return el('p', {}, t('webhooks.noDeliveries'));
  return el('div', { class: 'table-wrap' }, el('table', { class: 'deliveries', 'data-webhook': id },
    el('thead', {}, el('tr', {}, ['col.at', 'col.event', 'col.state', 'webhooks.attempts', 'webhooks.answer'].map((k) => el('th', { scope: 'col' }, t(k))))),
    el('tbody', {}, page.deliveries.map((d) => el('tr', { 'data-delivery': d.delivery_id, 'data-status': d.status },
      el('td', {}, when(d.created_at)),
      el('td', {}, deviceText(d.event)),
      el('td', {}, t(`webhooks.status.${d.status}`)),
      el('td', {}, String(d.attempts)),
      el('td', {}, d.last_http_status ? String(d.last_http_status) : d.last_error ? deviceText(d.last_error) : t('none')))))));
}

export async function renderWebhooks(main, session) {
  const admin = session.role === 'admin';
  const list = await get('webhooks');
  const items = await Promise.all(list.webhooks.map(async (w) => {
    const result = el('p', { role: 'status', class: 'test-result' });
    const buttons = admin ? el('div', { class: 'actions' },
      el('button', { type: 'button', 'data-write': 'true', 'data-test': w.webhook_id, onclick: async () => {
        show(result, t('webhooks.testing'));
        try {
          const r = await post(`webhooks/${w.webhook_id}/test`);
          show(result, r.delivered ? t('webhooks.testOk', { status: r.http_status }) : t('webhooks.testFailed', { error: r.error || r.http_status }));
        } catch (e) {
          show(result, t('error', { message: e.message }));
        }
      } }, t('webhooks.test')),
      el('button', { type: 'button', class: 'danger', 'data-write': 'true', 'data-remove': w.webhook_id, onclick: async () => {
        if (!window.confirm(t('webhooks.removeConfirm', { endpoint: w.endpoint }))) return;
        await del(`webhooks/${w.webhook_id}`);
        await renderWebhooks(main, session);
      } }, t('webhooks.remove'))) : null;
    return el('section', { class: 'webhook', 'data-webhook': w.webhook_id },
      el('h2', {}, deviceText(w.endpoint), ' ', el('span', { class: 'muted' }, `(${t(`webhooks.format.${w.format}`)})`)),
      el('p', {}, t('webhooks.sends'), ' ', w.events.map((e) => t(`event.${e}.title`)).join(', ')),
      buttons, result,
      el('h3', {}, t('webhooks.log')),
      await deliveryLog(w.webhook_id));
  }));
  show(main,
    el('h1', {}, t('webhooks.title')),
    el('p', {}, t('webhooks.help')),
    items.length === 0 ? el('p', { id: 'no-webhooks' }, t('webhooks.none')) : items,
    admin ? addForm(main, session) : null);
}
