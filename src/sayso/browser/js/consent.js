// A cookie/consent overlay covering arguments[0]: click its button (arguments[1]: the words, best first).
// The body of the function Selenium's execute_script runs (arguments[i], return).
const target = arguments[0], words = arguments[1];
const r = target.getBoundingClientRect();
let node = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
if (!node || target === node || target.contains(node)) return null;
// the overlay: the outermost fixed/sticky/absolute ancestor of what covers the target
let overlay = null;
for (let n = node; n && n !== document.body; n = n.parentElement) {
  const pos = getComputedStyle(n).position;
  if (pos === 'fixed' || pos === 'sticky' || pos === 'absolute') overlay = n;
}
overlay = overlay || node;
if (!/cookie|consent|privacy|gdpr|tracking|personal data|partners/i.test(overlay.innerText || '')) return null;
const buttons = Array.from(overlay.querySelectorAll('button,a,[role=button],input[type=submit],input[type=button]'));
const label = (b) => (b.innerText || b.value || b.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim().toLowerCase();
for (const w of words) {
  for (const b of buttons) {
    const t = label(b);
    if (t === w || (t.length <= 30 && t.startsWith(w))) { b.click(); return t; }
  }
}
return null;
