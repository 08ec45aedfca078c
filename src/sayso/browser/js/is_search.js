// Whether the field arguments[0] is a search box.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const el = arguments[0];
return el.type === 'search' || el.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(el.name) || !!el.closest('[role=search]') || /search/i.test(el.placeholder || '');
