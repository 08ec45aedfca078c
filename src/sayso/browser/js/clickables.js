// Visible links, buttons and fields in reading order (at most arguments[0]): [elements, their info].
// The body of the function Selenium's execute_script runs (arguments[i], return).
const sel = 'a[href],button,input:not([type=hidden]),select,textarea,summary,[role=button],[role=link],[role=tab],[role=menuitem],[role=checkbox],[role=switch],[role=searchbox],[role=textbox],[contenteditable=true],[onclick]';
const els = [], info = [];
for (const el of document.querySelectorAll(sel)) {
  if (els.length >= arguments[0]) break;
  if (!vis(el) || el.disabled) continue;
  if (el.parentElement && el.parentElement.closest(sel) && el.parentElement.closest(sel).matches('a[href],button')) continue;
  const tag = el.tagName.toLowerCase();
  const r = el.getBoundingClientRect();
  els.push(el);
  info.push({tag: tag, text: nameOf(el), href: tag === 'a' ? el.href : '',
             type: (el.type || el.getAttribute('role') || '').toLowerCase(),
             in_view: r.bottom > 0 && r.top < innerHeight});
}
return [els, info];
