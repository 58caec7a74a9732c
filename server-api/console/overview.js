// The overview: devices per status and failures per check (GET /api/v1/overview: the same
// counts as the API's own filters), a 30-day trend drawn as SVG by this page, the devices failing
// longest, and the fleet's alerts (enrolment spikes, cloned machines).
import { get } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { day, number, t, when } from './i18n.js';

export const STATUSES = ['compliant', 'at_risk', 'noncompliant', 'unknown', 'stale', 'pending'];
// The trend's lines: the statuses, in the colours of style.css's status classes.
const TREND = [
  ['compliant', '#1d6b35'], ['at_risk', '#8a6100'], ['noncompliant', '#a3231b'],
  ['unknown', '#4b5563'], ['stale', '#7c8a96'],
];
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c) node.append(c instanceof Node ? c : String(c));
  return node;
}

// The trend: one line per status over the days the server recorded (a day's figures are its last
// count), and the same figures as a table for screen readers and for copying.
function trendChart(trend, days) {
  if (trend.length === 0) return el('p', { id: 'trend-empty' }, t('overview.trendEmpty'));
  const width = 720, height = 220, left = 48, right = 12, top = 12, bottom = 28;
  const dayMs = 86400000;
  const last = Date.parse(`${trend[trend.length - 1].day}T00:00:00Z`);
  const first = last - (days - 1) * dayMs;
  const max = Math.max(1, ...trend.flatMap((d) => TREND.map(([s]) => d.statuses[s] || 0)));
  const x = (dayText) => left + ((Date.parse(`${dayText}T00:00:00Z`) - first) / dayMs) *
    ((width - left - right) / Math.max(1, days - 1));
  const y = (n) => top + (1 - n / max) * (height - top - bottom);
  const grid = [0, 0.5, 1].map((f) => {
    const n = Math.round(max * f);
    return [
      svg('line', { x1: left, x2: width - right, y1: y(n), y2: y(n), stroke: '#d8dcde' }),
      svg('text', { x: left - 6, y: y(n) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6670' }, number(n)),
    ];
  });
  const axis = [first, last].map((ms, i) => svg('text', {
    x: i === 0 ? left : width - right, y: height - 8, 'text-anchor': i === 0 ? 'start' : 'end',
    'font-size': 11, fill: '#5b6670',
  }, day(new Date(ms).toISOString().slice(0, 10))));
  const lines = TREND.map(([status, colour]) => {
    const points = trend.map((d) => `${x(d.day).toFixed(1)},${y(d.statuses[status] || 0).toFixed(1)}`);
    return svg('g', { 'data-status': status },
      svg('polyline', { points: points.join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }),
      trend.map((d) => svg('circle', { cx: x(d.day).toFixed(1), cy: y(d.statuses[status] || 0).toFixed(1), r: 2.5, fill: colour })));
  });
  const chart = svg('svg', {
    id: 'trend-chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'trend-title',
    preserveAspectRatio: 'xMinYMin meet',
  }, svg('title', { id: 'trend-title' }, t('overview.trendTitle', { days })), grid, axis, lines);
  const legend = el('ul', { class: 'legend' }, TREND.map(([status]) =>
    el('li', { class: `status status-${status}` }, t(`status.${status}`))));
  const table = el('details', {},
    el('summary', {}, t('overview.trendTable')),
    el('div', { class: 'table-wrap' }, el('table', { id: 'trend-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('col.day')),
        TREND.map(([s]) => el('th', { scope: 'col' }, t(`status.${s}`))))),
      el('tbody', {}, trend.map((d) => el('tr', { 'data-day': d.day },
        el('th', { scope: 'row' }, day(d.day)),
        TREND.map(([s]) => el('td', {}, number(d.statuses[s] || 0)))))))));
  return el('figure', { class: 'trend' }, chart, legend, table);
}

function alertText(e) {
  if (e.type === 'enrolment_spike') {
    return t('overview.spike', { count: e.count ?? '?', secret: e.secret_id ?? '?' });
  }
  return t('overview.clone');
}

export async function renderOverview(main) {
  const days = 30;
  const o = await get('overview', { days });
  const cards = STATUSES.map((s) => el('div', { class: 'card', 'data-status': s },
    el('a', { href: `#/devices?status=${encodeURIComponent(s)}` },
      el('span', { class: 'count', 'data-count': o.statuses[s] || 0 }, number(o.statuses[s] || 0)),
      el('span', { class: `status status-${s}` }, t(`status.${s}`)))));
  const failures = o.failures.map((f) => el('tr', { 'data-check': f.check },
    el('td', {}, el('a', { href: `#/devices?check=${encodeURIComponent(f.check)}` }, deviceText(f.check))),
    el('td', { 'data-count': f.devices }, number(f.devices))));
  const longest = o.failing_longest.map((d) => el('tr', { 'data-device': d.device_id },
    el('td', {}, el('a', { href: `#/device/${encodeURIComponent(d.device_id)}` }, deviceText(d.hostname))),
    el('td', {}, d.owner ? deviceText(d.owner) : t('none')),
    el('td', { class: `status status-${d.status}` }, t(`status.${d.status}`)),
    el('td', {}, when(d.failing_since))));
  const alerts = o.alerts.map((e) => el('li', { 'data-type': e.type },
    el('time', { datetime: e.at }, when(e.at)), ' ',
    el('a', { href: `#/device/${encodeURIComponent(e.device_id)}` }, deviceText(e.hostname || e.device_id)),
    ': ', alertText(e)));
  const head = (keys) => el('thead', {}, el('tr', {}, keys.map((k) => el('th', { scope: 'col' }, t(k)))));
  show(main,
    el('h1', {}, t('overview.title')),
    el('p', {}, `${t('overview.total')}: `, el('strong', { id: 'total', 'data-count': o.total }, number(o.total))),
    el('h2', {}, t('overview.statuses'), ' ', attestation()),
    el('div', { class: 'cards', id: 'status-counts' }, cards),
    el('h2', {}, t('overview.trend', { days })),
    trendChart(o.trend, days),
    el('h2', {}, t('overview.failures'), ' ', attestation()),
    failures.length === 0 ? el('p', {}, t('overview.noFailures')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'check-failures' }, head(['col.check', 'col.count']), el('tbody', {}, failures))),
    el('h2', {}, t('overview.longest')),
    longest.length === 0 ? el('p', { id: 'no-longest' }, t('overview.noLongest')) : el('div', { class: 'table-wrap' },
      el('table', { id: 'failing-longest' }, head(['col.hostname', 'col.owner', 'col.status', 'col.failingSince']),
        el('tbody', {}, longest))),
    el('h2', {}, t('overview.alerts', { days })),
    alerts.length === 0 ? el('p', { id: 'no-alerts' }, t('overview.noAlerts')) : el('ul', { id: 'alerts' }, alerts));
}
