// Scroll arguments[0] into view; true when nothing covers its centre.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const el = arguments[0];
el.scrollIntoView({block: 'center', inline: 'nearest'});
const r = el.getBoundingClientRect();
const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
return !top || el === top || el.contains(top) || top.contains(el);
