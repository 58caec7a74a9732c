// A check's evidence as IT reads it: the disk chain per mount, the route to each company
// address, the pending packages, each person's screen lock. The four checks get their own
// layout; any other check, any field a layout does not know and any evidence whose shape is not
// the expected one fall back to the generic nested lists, so nothing a device sent is hidden.
// Every value is device-given text, shown inert through deviceText.
import { deviceText, el } from './dom.js';
import { t, when } from './i18n.js';

// Evidence (any JSON) as nested definition lists and lists.
export function genericEvidence(value, depth = 0) {
  if (depth > 8) return deviceText(JSON.stringify(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return t('none');
    return el('ul', { class: 'evidence' }, value.map((v) => el('li', {}, genericEvidence(v, depth + 1))));
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return t('none');
    return el('dl', { class: 'evidence' },
      entries.map(([k, v]) => [el('dt', {}, deviceText(k)), el('dd', {}, genericEvidence(v, depth + 1))]));
  }
  return deviceText(value === null ? 'null' : String(value));
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// A layout met a shape it does not know: the caller falls back to the generic rendering.
class Shape extends Error {}
function need(ok) {
  if (!ok) throw new Shape();
}
function list(v) {
  if (v === undefined) return [];
  need(Array.isArray(v));
  return v;
}

// A value as text: booleans as yes/no in the reader's language, absent as a dash.
function text(v) {
  if (v === undefined || v === null || v === '') return t('none');
  if (typeof v === 'boolean') return t(v ? 'ev.yes' : 'ev.no');
  need(typeof v !== 'object');
  return deviceText(String(v));
}

// The fields of `obj` that the layout did not show, generically, under "Other details".
function rest(obj, shown) {
  const left = Object.fromEntries(Object.entries(obj).filter(([k]) => !shown.includes(k)));
  if (Object.keys(left).length === 0) return null;
  return el('details', { class: 'ev-rest' }, el('summary', {}, t('ev.other')), genericEvidence(left));
}

function table(cls, cols, rows) {
  return el('table', { class: `ev-table ${cls}` },
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, t(c))))),
    el('tbody', {}, rows));
}

function verdictMark(v) {
  return el('span', { class: `verdict-${typeof v === 'string' ? v : 'unknown'}` }, text(v));
}

// A list of strings or objects under a heading, or nothing when empty.
function section(key, values) {
  const items = list(values);
  if (items.length === 0) return null;
  return el('div', { class: 'ev-section' }, el('h4', {}, t(key)),
    el('ul', { class: 'evidence' }, items.map((v) => el('li', {}, isObject(v) || Array.isArray(v) ? genericEvidence(v) : text(v)))));
}

// disk_encryption: one block per judged mount: its chain of block devices from the mount down
// to the disk, each layer encrypted or not, and why.
function layerTree(layers, depth = 0) {
  const items = list(layers);
  if (items.length === 0 || depth > 8) return null;
  return el('ul', { class: 'ev-layers' }, items.map((l) => {
    need(isObject(l));
    return el('li', {},
      el('code', {}, text(l.device)), ' ', el('span', { class: 'muted' }, '(', text(l.type), ')'), ' ',
      el('span', { class: l.encrypted ? 'verdict-pass' : 'verdict-fail' }, t(l.encrypted ? 'ev.encrypted' : 'ev.notEncrypted')),
      l.method ? [' · ', text(l.method)] : null,
      l.reason ? [': ', text(l.reason)] : null,
      layerTree(l.lower, depth + 1));
  }));
}

function diskEncryption(e) {
  const targets = list(e.targets).map((tg) => {
    need(isObject(tg));
    return el('div', { class: 'ev-target', 'data-mount': typeof tg.mount_point === 'string' ? tg.mount_point : '' },
      el('h4', {}, el('code', {}, text(tg.mount_point ?? tg.target)), ' ', el('span', { class: 'muted' }, text(tg.kind)), ' ',
        el('span', { class: tg.encrypted ? 'verdict-pass' : 'verdict-fail' }, t(tg.encrypted ? 'ev.encrypted' : 'ev.notEncrypted'))),
      el('dl', { class: 'evidence' },
        el('dt', {}, t('ev.chain')), el('dd', {}, el('code', { class: 'ev-chain' }, text(tg.chain))),
        el('dt', {}, t('ev.filesystem')), el('dd', {}, text(tg.fstype), ' ', el('span', { class: 'muted' }, text(tg.source))),
        tg.reason ? [el('dt', {}, t('ev.why')), el('dd', {}, text(tg.reason))] : null),
      layerTree(tg.layers),
      rest(tg, ['target', 'kind', 'mount_point', 'fstype', 'source', 'encrypted', 'chain', 'reason', 'layers']));
  });
  return [targets,
    section('ev.notJudged', e.not_judged), section('ev.removable', e.removable_media),
    section('ev.homes', e.encrypted_homes), section('ev.notes', e.notes),
    rest(e, ['targets', 'not_judged', 'removable_media', 'encrypted_homes', 'notes'])];
}

// vpn: one row per company address: how the device routes it and through what interface.
function vpn(e) {
  const rows = list(e.addresses).map((a) => {
    need(isObject(a));
    const r = a.route === undefined ? {} : a.route;
    const i = a.interface === undefined ? {} : a.interface;
    need(isObject(r) && isObject(i));
    return el('tr', { 'data-address': typeof a.address === 'string' ? a.address : '' },
      el('th', { scope: 'row' }, el('code', {}, text(a.address))),
      el('td', {}, verdictMark(a.verdict)),
      el('td', {}, el('code', {}, text(r.interface ?? i.name)),
        r.matched_prefix ? [' ', el('span', { class: 'muted' }, t('ev.prefix'), ' ', text(r.matched_prefix))] : null,
        r.gateway ? el('div', { class: 'muted' }, t('ev.gateway'), ' ', text(r.gateway)) : null,
        r.table_name ? el('div', { class: 'muted' }, t('ev.table'), ' ', text(r.table_name)) : null),
      el('td', {}, text(i.kind), ' · ', t(i.tunnel ? 'ev.tunnel' : 'ev.notTunnel'), ' · ', t(i.up ? 'ev.up' : 'ev.down')),
      el('td', {}, text(a.detail ?? a.reason)));
  });
  return [table('ev-routes', ['ev.address', 'col.verdict', 'ev.route', 'ev.interface', 'ev.why'], rows),
    rest(e, ['addresses'])];
}

// os_patches: the counts, then the pending packages, security updates first.
const kShownPackages = 15;
function osPatches(e) {
  const fact = (key, v) => [el('dt', {}, t(key)), el('dd', {}, text(v))];
  const facts = el('dl', { class: 'evidence' },
    fact('ev.packageManager', e.package_manager), fact('ev.pending', e.pending_count),
    fact('ev.security', e.security_count), fact('ev.oldestPending', e.oldest_pending_days),
    fact('ev.oldestSecurity', e.oldest_security_days));
  const pending = list(e.pending).slice();
  pending.forEach((p) => need(isObject(p)));
  pending.sort((a, b) => Number(Boolean(b.security)) - Number(Boolean(a.security)));
  const row = (p) => el('tr', {},
    el('th', { scope: 'row' }, text(p.name)), el('td', {}, text(p.installed)), el('td', {}, text(p.candidate)),
    el('td', { class: p.security ? 'verdict-fail' : null }, text(Boolean(p.security))), el('td', {}, typeof p.first_seen === 'string' ? deviceText(when(p.first_seen)) : text(p.first_seen)));
  const cols = ['ev.package', 'ev.installed', 'ev.candidate', 'ev.securityUpdate', 'ev.firstSeen'];
  let packages = null;
  if (pending.length > 0) {
    packages = [table('ev-packages', cols, pending.slice(0, kShownPackages).map(row)),
      pending.length > kShownPackages
        ? el('details', {}, el('summary', {}, t('ev.morePackages', { n: pending.length - kShownPackages })),
          table('ev-packages', cols, pending.slice(kShownPackages).map(row)))
        : null];
  }
  return [facts, packages, rest(e, ['package_manager', 'pending_count', 'security_count', 'oldest_pending_days', 'oldest_security_days', 'pending'])];
}

// screen_lock: the policy's limit, then each person with a graphical account: the desktop,
// seconds from idle to locked, lock on resume, whether an administrator enforces it.
function screenLock(e) {
  const rows = list(e.people).map((p) => {
    need(isObject(p));
    return el('tr', {},
      el('th', { scope: 'row' }, text(p.user ?? p.person)),
      el('td', {}, verdictMark(p.verdict)),
      el('td', {}, text(p.desktop)),
      el('td', {}, text(p.idle_to_lock_seconds)),
      el('td', {}, text(p.lock_on_resume)),
      el('td', {}, text(p.enforced_by_administrator)),
      el('td', {}, text(p.reason)));
  });
  return [
    el('p', {}, t('ev.lockPolicy'), ' ', text(e.max_idle_seconds),
      e.require_lock_on_resume ? [' ', t('ev.lockOnResumeRequired')] : null),
    rows.length > 0
      ? table('ev-people', ['ev.person', 'col.verdict', 'ev.desktop', 'ev.idleToLock', 'ev.lockOnResume', 'ev.enforced', 'ev.why'], rows)
      : el('p', {}, t('ev.noPeople')),
    section('ev.notInspected', e.not_inspected), section('ev.notes', e.notes),
    rest(e, ['people', 'not_inspected', 'notes', 'max_idle_seconds', 'require_lock_on_resume'])];
}

const kLayouts = {
  disk_encryption: diskEncryption,
  vpn,
  os_patches: osPatches,
  screen_lock: screenLock,
};

// The evidence of check `id`, in its layout when there is one and the shape fits.
export function renderEvidence(id, value) {
  const layout = kLayouts[id];
  if (layout && isObject(value)) {
    try {
      return el('div', { class: `ev ev-${id}` }, layout(value));
    } catch (e) {
      if (!(e instanceof Shape)) throw e;
    }
  }
  return genericEvidence(value);
}
