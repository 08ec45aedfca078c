// After a click or Enter: [url, readyState, still the document marked before?, navigation
// started from it: '' (none seen), 'same' (same document) or 'cross' (a new document is coming)].
return [location.href, document.readyState, document.__saysoMark === arguments[0], window.__saysoNav || ''];
