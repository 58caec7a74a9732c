// The period report for auditors: pick a period and download the CSV (or JSON) the API makes
// (GET /api/v1/compliance-report?from=&to=&format=): per device and check, the share of the
// period compliant, the incidents, exemptions, stale spans, admin actions, totals per level.
import { el, show } from './dom.js';
import { day, t } from './i18n.js';

function isoDay(date) { return date.toISOString().slice(0, 10); }

export function renderReport(main, params) {
  // A report covers whole UTC days that have ended (the API refuses a period still going on: it
  // would change as reports arrive): by default the last 30 of them.
  const yesterday = isoDay(new Date(Date.now() - 86400000));
  const from = params.get('from') || isoDay(new Date(Date.now() - 30 * 86400000));
  const to = params.get('to') || yesterday;
  const form = el('form', { id: 'report-form', class: 'filters' },
    el('label', {}, t('report.from'), el('input', { type: 'date', name: 'from', id: 'report-from', value: from, max: yesterday, required: true })),
    el('label', {}, t('report.to'), el('input', { type: 'date', name: 'to', id: 'report-to', value: to, max: yesterday, required: true })),
    el('button', { type: 'submit' }, t('report.show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    window.location.hash = `#/report?from=${encodeURIComponent(data.get('from'))}&to=${encodeURIComponent(data.get('to'))}`;
  });
  // Days as the API takes them: a period from the start of `from` to the end of `to` (UTC).
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
  const query = (format) => `/api/v1/compliance-report?${new URLSearchParams({ from: `${from}T00:00:00Z`, to: `${end}T00:00:00Z`, format })}`;
  const ended = Date.parse(`${end}T00:00:00Z`) <= Date.now();
  const ordered = from <= to;
  show(main,
    el('h1', {}, t('report.title')),
    el('p', {}, t('report.help')),
    form,
    !ordered || !ended ? el('p', { class: 'error', role: 'alert', id: 'report-invalid' }, t(ordered ? 'report.notEnded' : 'report.order')) : [
      el('p', { id: 'report-period' }, t('report.period', { from: day(from), to: day(to) })),
      el('p', { class: 'actions' },
      el('a', { href: query('csv'), id: 'report-csv', class: 'button', download: `hearth-compliance-${from}-${to}.csv` }, t('report.csv')),
      el('a', { href: query('json'), id: 'report-json', class: 'button', download: `hearth-compliance-${from}-${to}.json` }, t('report.json')))]);
}
