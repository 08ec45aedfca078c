// The page's results-like list (search results, a list of articles): [links, their info].
// The body of the function Selenium's execute_script runs (arguments[i], return).
const linkIn = (box) => {
  for (const a of box.querySelectorAll('a[href]')) {
    if (vis(a) && clean(a.innerText).length >= 3) return a;
  }
  return null;
};
let best = null, bestScore = 0;
for (const box of document.querySelectorAll('ol,ul,div,section,main,tbody')) {
  if (box.closest('nav,header,footer,aside,[role=navigation]')) continue;
  if (box.childElementCount < 3) continue;
  // the first 100 children decide (a 5,000-item list costs no more than a 100-item one)
  const kids = Array.from(box.children).slice(0, 100).filter(k => vis(k) && linkIn(k));
  if (kids.length < 3) continue;
  const textLen = kids.reduce((n, k) => n + clean(k.innerText).length, 0);
  const score = kids.length * Math.min(textLen / kids.length, 200);
  if (score > bestScore) { best = kids; bestScore = score; }
}
let links = best ? best.map(linkIn) : [];
if (links.length < 3) {
  links = Array.from(document.querySelectorAll('h2 a[href],h3 a[href],h4 a[href]')).filter(a => vis(a) && !a.closest('nav,header,footer,aside'));
}
links = links.slice(0, 50);
return [links, links.map(a => ({tag: 'a', text: nameOf(a), href: a.href, type: 'result', in_view: true}))];
