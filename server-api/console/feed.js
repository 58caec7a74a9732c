// The compliance feed as it comes: the newest events (GET /api/v1/feed, followed by its cursor)
// and new ones added on top every 10 seconds while the page is open.
import { get } from './api.js';
import { attestation, deviceText, el, show } from './dom.js';
import { eventText } from './events.js';
import { t, when } from './i18n.js';

const KEEP = 200;  // rows on the page
let timer = null;

function row(e) {
  return el('tr', { 'data-type': e.type, 'data-cursor': e.cursor },
    el('td', {}, el('time', { datetime: e.at }, when(e.at))),
    el('td', {}, el('a', { href: `#/device/${encodeURIComponent(e.device_id)}` }, deviceText(e.hostname || e.device_id))),
    el('td', {}, e.owner ? deviceText(e.owner) : t('none')),
    el('td', {}, eventText(e)));
}

// The newest `KEEP` events, newest first, and the cursor to follow from (`newest`: the API's
// last events, oldest first, with `next` after the newest).
async function newest() {
  const page = await get('feed', { newest: KEEP });
  return { events: page.events.reverse(), next: page.next };
}

export async function renderFeed(main) {
  if (timer) clearInterval(timer);
  const { events, next } = await newest();
  let cursor = next;
  const body = el('tbody', {}, events.map(row));
  const status = el('p', { id: 'feed-status', role: 'status' }, t('feed.live'));
  show(main,
    el('h1', {}, t('feed.title')),
    status,
    el('div', { class: 'table-wrap' }, el('table', { id: 'feed' },
      el('caption', {}, attestation()),
      el('thead', {}, el('tr', {}, ['col.at', 'col.hostname', 'col.owner', 'col.event'].map((k) => el('th', { scope: 'col' }, t(k))))),
      body)));
  timer = setInterval(async () => {
    if (!document.body.contains(body)) {
      clearInterval(timer);
      return;
    }
    try {
      const page = await get('feed', { after: cursor, limit: 500 });
      cursor = page.next;
      for (const e of page.events) body.prepend(row(e));
      while (body.children.length > KEEP) body.lastChild.remove();
      show(status, t('feed.live'));
    } catch (error) {
      show(status, t('error', { message: error.message }));
    }
  }, 10000);
}
