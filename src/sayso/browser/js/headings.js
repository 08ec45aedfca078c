// The h1-h6 (and role=heading) headings in order: [{level, text}].
// The body of the function Selenium's execute_script runs (arguments[i], return).
const out = [];
for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6,[role=heading]')) {
  if (!vis(h) || h.closest('nav,footer,[aria-hidden=true]')) continue;
  const t = clean(h.innerText);
  if (!t) continue;
  const level = /^h[1-6]$/i.test(h.tagName) ? +h.tagName[1] : +(h.getAttribute('aria-level') || 2);
  out.push({level: level, text: t.slice(0, 200)});
  if (out.length >= 60) break;
}
return out;
