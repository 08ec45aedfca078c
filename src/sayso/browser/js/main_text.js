// The readable main text (no navigation, headers, footers, forms), at most arguments[0] characters.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const articles = document.querySelectorAll('article');
const root = document.querySelector('main,[role=main]') || (articles.length === 1 ? articles[0] : null) || document.body;
if (!root) return '';
const blocks = root.querySelectorAll('h1,h2,h3,h4,h5,h6,p,li,blockquote,pre,dd,dt,figcaption,td,th');
const out = [];
let n = 0;
for (const el of blocks) {
  if (skipped(el) && !(root !== document.body && el.closest('form') && false)) continue;
  if (el.parentElement && el.parentElement.closest('p,li,blockquote,pre,td,th,dd')) continue;
  if (!vis(el)) continue;
  const t = clean(el.innerText);
  if (!t) continue;
  out.push(t); n += t.length;
  if (n > arguments[0]) break;
}
let text = out.join('\n');
if (text.length < 200) {
  const all = clean(root.innerText);
  if (all.length > text.length) text = all;
}
return text.slice(0, arguments[0]);
