// Building the page with DOM APIs only: text is always a text node, never parsed as markup
// anywhere in the console, so a device-given `<script>` is shown, not run.
import { t } from './i18n.js';

// Code points that change how the text around them is shown or what a terminal does: C0 and C1
// controls, DEL, the line and paragraph separators, bidi marks, embeddings, overrides and
// isolates. Shown as a visible [U+XXXX] instead.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

// Text a device (or a person) gave, made inert: a <bdi> (its direction cannot leak into the
// page) holding the text with every control shown as [U+XXXX].
export function deviceText(value) {
  const span = document.createElement('bdi');
  span.className = 'device-text';
  const s = value === null || value === undefined ? '' : String(value);
  let last = 0;
  for (const m of s.matchAll(CONTROLS)) {
    if (m.index > last) span.append(s.slice(last, m.index));
    const ctl = document.createElement('span');
    ctl.className = 'ctl';
    ctl.textContent = `[U+${m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`;
    span.append(ctl);
    last = m.index + m[0].length;
  }
  if (last < s.length) span.append(s.slice(last));
  return span;
}

// el('a', {href: '#/'}, 'text', node): attributes set with setAttribute (`class`, `data-*`,
// `aria-*` alike), `on*` functions as listeners; children are nodes or strings (text nodes).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Replaces the children of `node`.
export function show(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

// The "reported by the device" label every result carries (docs/threat-model.md).
export function attestation() {
  return el('span', { class: 'attest' }, `(${t('reported')})`);
}
