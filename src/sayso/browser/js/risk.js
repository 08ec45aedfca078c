// What pressing arguments[0] (or submitting its form) would do: label, form, search form, button.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const el = arguments[0];
const label = (el.innerText || el.value || el.getAttribute('aria-label') || el.title || '').replace(/\s+/g, ' ').trim();
const form = el.form || el.closest('form');
const tag = el.tagName.toLowerCase(), type = (el.getAttribute('type') || '').toLowerCase();
const submits = !!form && ((tag === 'button' && (type === '' || type === 'submit')) || (tag === 'input' && (type === 'submit' || type === 'image')));
let search = false, button = '';
if (form) {
  const fields = Array.from(form.elements).filter(e => e.tagName === 'TEXTAREA' || (e.tagName === 'INPUT' && !['hidden','submit','button','reset','image','checkbox','radio'].includes(e.type)));
  const f = fields[0];
  search = form.getAttribute('role') === 'search' || !!form.closest('[role=search]') || (fields.length === 1 && f.type !== 'password' &&
    (f.type === 'search' || /^(q|s|query|search)$/i.test(f.name || '') || /search/i.test(f.placeholder || '') || /search/i.test(f.getAttribute('aria-label') || '')));
  const b = form.querySelector('button:not([type=button]):not([type=reset]),input[type=submit]');
  button = b ? (b.innerText || b.value || b.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim() : '';
}
return {label: label.slice(0, 80), submits: submits, form: !!form, search: search, button: button.slice(0, 80)};
