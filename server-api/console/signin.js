// The sign-in page: a form that POSTs the token to /login (the server answers with the session
// cookie and a redirect; the token never goes into a URL or into this page's storage).
import { el, show } from './dom.js';
import { t } from './i18n.js';

export function renderSignIn(main) {
  const failed = document.body.dataset.login === 'failed';
  const input = el('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false',
  });
  show(main, el('section', { class: 'signin' },
    el('h1', {}, t('signin.title')),
    failed ? el('p', { class: 'error', role: 'alert', id: 'signin-error' }, t('signin.failed')) : null,
    el('form', { method: 'post', action: '/login', id: 'signin-form' },
      el('label', { for: 'token' }, t('signin.token')),
      input,
      el('button', { type: 'submit' }, t('signin.submit'))),
    el('p', { class: 'attest' }, t('signin.help'))));
  input.focus();
}
