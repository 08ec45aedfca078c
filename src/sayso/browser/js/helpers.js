// Shared by the page scripts: visibility (vis), whitespace (clean), skipped regions, the spoken name of an element (nameOf).
// The body of the function Selenium's execute_script runs (arguments[i], return).
const vis = (el) => {
  if (!el.isConnected) return false;
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  const s = getComputedStyle(el);
  return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity || '1') > 0.05;
};
const clean = (t) => (t || '').replace(/\s+/g, ' ').trim();
const skipped = (el) => !!el.closest('nav,header,footer,aside,form,[role=navigation],[role=banner],[role=contentinfo],[aria-hidden=true],script,style,noscript,template');
const nameOf = (el) => {
  let t = clean(el.getAttribute('aria-label'));
  if (!t && el.getAttribute('aria-labelledby')) {
    t = clean(el.getAttribute('aria-labelledby').split(/\s+/).map(id => {
      const n = document.getElementById(id); return n ? n.innerText : ''; }).join(' '));
  }
  const tag = el.tagName.toLowerCase();
  if (!t && (tag === 'input' || tag === 'textarea' || tag === 'select')) {
    if (el.labels && el.labels.length) t = clean(el.labels[0].innerText);
    if (!t && ['submit', 'button', 'reset'].includes(el.type)) t = clean(el.value);
    if (!t) t = clean(el.placeholder || el.title || el.name);
  }
  if (!t) t = clean(el.innerText);
  if (!t) { const img = el.querySelector('img[alt]'); if (img) t = clean(img.alt); }
  if (!t) t = clean(el.title);
  return t.slice(0, 150);
};
