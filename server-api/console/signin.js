// The sign-in page: a form that POSTs the token to /login (the server answers with the session
// cookie and a redirect; the token never goes into a URL or into this page's storage), and, when
// the server has single sign-on (data-oidc="on"), a link to /login/oidc. The server marks the
// page (data-login) with why the last sign-in failed.
import { el, show } from './dom.js';
import { t } from './i18n.js';

export function renderSignIn(main) {
  const mark = document.body.dataset.login;
  const failed = mark === 'failed';
  const ssoMessage = ['oidc-failed', 'oidc-norole', 'oidc-unavailable'].includes(mark)
    ? t('signin.' + mark) : null;
  const sso = document.body.dataset.oidc === 'on';
  const input = el('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false',
  });
  show(main, el('section', { class: 'signin' },
    el('h1', {}, t('signin.title')),
    failed ? el('p', { class: 'error', role: 'alert', id: 'signin-error' }, t('signin.failed')) : null,
    ssoMessage ? el('p', { class: 'error', role: 'alert', id: 'signin-error' }, ssoMessage) : null,
    sso ? el('p', {}, el('a', { href: '/login/oidc', id: 'signin-sso', class: 'button' }, t('signin.sso'))) : null,
    sso ? el('p', {}, t('signin.or')) : null,
    el('form', { method: 'post', action: '/login', id: 'signin-form' },
      el('label', { for: 'token' }, t('signin.token')),
      input,
      el('button', { type: 'submit' }, t('signin.submit'))),
    el('p', { class: 'attest' }, t('signin.help'))));
  if (!sso) input.focus();
}
