// Feed events in words (the feed page and a device's history). Device-given values (check ids,
// hostnames, verdicts from a report) are inert text nodes.
import { deviceText, el } from './dom.js';
import { t, when } from './i18n.js';

// The event as a line of nodes: its type in words, then what it carries.
export function eventText(e) {
  const d = e;  // the API puts an event's details beside its fields
  switch (e.type) {
    case 'verdict_changed':
      return [t('event.verdict_changed', { check: '\u0000' }).split('\u0000')[0], deviceText(e.check),
        t('event.verdict_changed', { check: '\u0000' }).split('\u0000')[1] || '', ' ',
        el('span', { class: `verdict-${e.from}` }, deviceText(e.from ?? t('none'))), ' → ',
        el('span', { class: `verdict-${e.to}` }, deviceText(e.to ?? t('none')))];
    case 'exemption_expiring':
    case 'exemption_expired':
      return t(`event.${e.type}`, { id: d.exemption_id ?? '?', until: d.until ? when(d.until) : '?' });
    case 'enrolment_spike':
      return t('event.enrolment_spike', { count: d.count ?? '?', secret: d.secret_id ?? '?' });
    case 'certificate_expiring':
      return t('event.certificate_expiring', { days: d.days_left ?? '?' });
    case 'duplicate_machine_id':
      return [t('event.duplicate_machine_id'), ' ', d.other_device_id
        ? el('a', { href: `#/device/${encodeURIComponent(d.other_device_id)}` }, el('code', {}, deviceText(d.other_device_id)))
        : null];
    default: {
      const key = `event.${e.type}`;
      const text = t(key);
      return text === key ? deviceText(e.type) : text;
    }
  }
}
