// The field to type into: the focused editable one, else the search box, else the first field.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const editable = (el) => el && (el.isContentEditable || (el.tagName === 'TEXTAREA') ||
  (el.tagName === 'INPUT' && !['button','submit','reset','checkbox','radio','file','image','range','color','hidden'].includes(el.type)));
const vis = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
let el = document.activeElement;
if (!(editable(el) && vis(el))) {
  const all = Array.from(document.querySelectorAll('input,textarea,[contenteditable=true],[role=searchbox],[role=textbox]')).filter(e => editable(e) && vis(e) && !e.disabled && !e.readOnly && e.type !== 'password');
  el = all.find(e => e.type === 'search' || e.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(e.name) || e.closest('[role=search]')) || all[0] || null;
}
if (!el) return null;
const isSearch = el.type === 'search' || el.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(el.name) || !!el.closest('[role=search]') || /search/i.test(el.placeholder || '') || /search/i.test(el.getAttribute('aria-label') || '');
let label = el.getAttribute('aria-label') || (el.labels && el.labels[0] ? el.labels[0].innerText : '') || el.placeholder || el.name || '';
return [el, {label: label.replace(/\s+/g, ' ').trim().slice(0, 80), search: isSearch, password: el.type === 'password', rich: !!el.isContentEditable}];
