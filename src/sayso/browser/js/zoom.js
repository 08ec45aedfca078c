// Set the page zoom to arguments[0] (null: leave it); returns the zoom.
// The body of the function Selenium's execute_script runs (arguments[i], return).
const r = document.documentElement;
if (arguments[0] !== null) r.style.zoom = String(arguments[0]);
return parseFloat(r.style.zoom || '1') || 1;
