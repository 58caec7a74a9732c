// The console's calls: the admin API under /api/v1 with the session cookie (sent by the browser,
// never readable by this code: HttpOnly), and the session's CSRF token on every write.

let csrfToken = '';

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(response) {
  const type = response.headers.get('Content-Type') || '';
  const body = type.startsWith('application/json') ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(response.status, body?.error || response.statusText, body?.code || '');
  }
  return body;
}

// The session ({role, token_name, csrf_token, expires}), or null when signed out.
export async function currentSession() {
  const response = await fetch('/api/v1/session', { cache: 'no-store', credentials: 'same-origin' });
  if (response.status === 401) return null;
  const session = await answer(response);
  csrfToken = session.csrf_token;
  return session;
}

// GET /api/v1/`path` with `params` (empty values left out).
export async function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) query.set(k, v);
  }
  const qs = query.toString();
  const response = await fetch(`/api/v1/${path}${qs ? `?${qs}` : ''}`, {
    cache: 'no-store', credentials: 'same-origin',
  });
  return answer(response);
}

// POST /api/v1/`path` with a JSON body and the CSRF token.
export async function post(path, body = {}) {
  const response = await fetch(`/api/v1/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
    body: JSON.stringify(body),
  });
  return answer(response);
}

// POST /api/v1/`path` with `text` as the JSON body as it is (a policy document is signed byte
// for byte) and the CSRF token.
export async function postText(path, text) {
  const response = await fetch(`/api/v1/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
    body: text,
  });
  return answer(response);
}

// DELETE /api/v1/`path` with the CSRF token.
export async function del(path) {
  const response = await fetch(`/api/v1/${path}`, {
    method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken },
  });
  return answer(response);
}

// Every device of a list (following `next`), at most `maxPages` pages of 1000.
export async function allDevices(params = {}, maxPages = 100) {
  const out = [];
  let after = '';
  for (let page = 0; page < maxPages; page += 1) {
    const list = await get('devices', { ...params, limit: 1000, after });
    out.push(...list.devices);
    if (!list.next) return out;
    after = list.next;
  }
  return out;
}

// Ends the session (POST /logout with the CSRF token) and goes back to the sign-in page.
export async function logout() {
  await fetch('/logout', {
    method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken },
  });
  window.location.assign('/');
}
