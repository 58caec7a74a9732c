// The console's words, by language. English only for now; another language is one more object
// with the same keys (the browser's languages pick it, English is the fallback).
const messages = {
  en: {
    'nav.overview': 'Overview',
    'nav.devices': 'Devices',
    'signin.title': 'Sign in to the Hearth console',
    'signin.token': 'Token (read or admin)',
    'signin.submit': 'Sign in',
    'signin.failed': 'That token is not valid, has expired or was revoked.',
    'signin.help': 'Use a token from "hearth-server token create". It is sent once and exchanged for a session.',
    'who.role': 'Signed in as {name} ({role})',
    'logout': 'Sign out',
    'reported': 'reported by the device',
    'overview.title': 'Overview',
    'overview.statuses': 'Devices per status',
    'overview.failures': 'Failures per check',
    'overview.total': 'Active devices',
    'overview.noFailures': 'No check is failing.',
    'status.compliant': 'Compliant',
    'status.at_risk': 'At risk',
    'status.noncompliant': 'Non-compliant',
    'status.unknown': 'Unknown',
    'status.stale': 'Stale',
    'status.pending': 'Pending approval',
    'status.retired': 'Retired',
    'status.any': 'Any',
    'devices.title': 'Devices',
    'devices.filter': 'Filter',
    'devices.status': 'Status',
    'devices.check': 'Failing check',
    'devices.level': 'Level',
    'devices.owner': 'Owner',
    'devices.failingFor': 'Failing for at least (days)',
    'devices.apply': 'Apply',
    'devices.clear': 'Clear',
    'devices.none': 'No device matches.',
    'devices.next': 'Next page',
    'devices.first': 'First page',
    'col.hostname': 'Hostname',
    'col.owner': 'Owner',
    'col.level': 'Level',
    'col.status': 'Status',
    'col.failingSince': 'Failing since',
    'col.lastSeen': 'Last seen',
    'col.check': 'Check',
    'col.verdict': 'Verdict',
    'col.summary': 'Summary',
    'col.since': 'Since',
    'col.fixBy': 'Fix by',
    'col.exemptUntil': 'Exempt until',
    'col.count': 'Devices failing',
    'device.facts': 'Device',
    'device.id': 'Device id',
    'device.enrolled': 'Enrolled',
    'device.agent': 'Agent version',
    'device.checks': 'Checks',
    'device.evidence': 'Evidence',
    'device.remediation': 'Advice given',
    'device.exemptions': 'Exemptions',
    'device.noExemptions': 'No active exemption.',
    'device.exemptionLine': '{check} until {until}: {reason} (by {by})',
    'device.retire': 'Retire device',
    'device.retireConfirm': 'Retire the device "{host}" ({id})? It stops reporting and leaves the lists.',
    'device.retired': 'The device was retired.',
    'confirm': 'Confirm',
    'cancel': 'Cancel',
    'never': 'never',
    'none': '—',
    'loading': 'Loading…',
    'error': 'Something went wrong: {message}',
    'sessionEnded': 'Your session ended. Sign in again.',
  },
};

const lang = (navigator.languages || [navigator.language || 'en'])
  .map((l) => String(l).toLowerCase().split('-')[0])
  .find((l) => l in messages) || 'en';
document.documentElement.lang = lang;

// The text of `key` with {name} placeholders filled from `params` (plain text, never markup).
export function t(key, params = {}) {
  const text = messages[lang][key] ?? messages.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// A date for people, in the browser's locale; "never" for none.
export function when(iso) {
  if (!iso) return t('never');
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function number(n) {
  return new Intl.NumberFormat().format(n);
}
