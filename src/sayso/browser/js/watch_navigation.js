// Before a click or Enter: mark this document and note whether a navigation starts from it.
// arguments[0]: the element about to be used; arguments[1]: a fresh mark for this document.
// Returns whether the element submits a form (a navigation is likely to follow).
// The Navigation API's "navigate" event fires when any navigation of the tab starts (links,
// form submissions, scripts), before the new document exists; where it is missing (older
// Firefox) the caller falls back to a short grace period.
window.__saysoNav = '';
document.__saysoMark = arguments[1];
if (window.navigation && !window.__saysoNavWatch) {
  window.__saysoNavWatch = true;
  window.navigation.addEventListener('navigate', (e) => {
    window.__saysoNav = e.destination && e.destination.sameDocument ? 'same' : 'cross';
  });
}
const el = arguments[0];
return !!(el && el.form && (el.type === 'submit' || el.type === 'image'));
