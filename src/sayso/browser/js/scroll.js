// Scroll the page (or its main scrolling element) by arguments[0]: up, down, top, bottom.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const dir = arguments[0];
let el = document.scrollingElement || document.documentElement;
let page = innerHeight;
if (el.scrollHeight <= el.clientHeight + 2) {
  let best = null, area = 0, n = 0;
  for (const c of document.body ? document.body.querySelectorAll('*') : []) {
    if (++n > 4000) break;
    if (c.scrollHeight <= c.clientHeight + 2 || c.clientHeight < 100) continue;
    const oy = getComputedStyle(c).overflowY;
    if (oy !== 'auto' && oy !== 'scroll') continue;
    const a = c.clientWidth * c.clientHeight;
    if (a > area) { area = a; best = c; }
  }
  if (best) { el = best; page = best.clientHeight; }
}
const before = el.scrollTop, max = el.scrollHeight - el.clientHeight;
const to = dir === 'down' ? before + page * 0.85 : dir === 'up' ? before - page * 0.85 : dir === 'top' ? 0 : max;
el.scrollTo({top: to, behavior: 'instant'});
return [before, el.scrollTop, max];
