// Where the tab is: [url, title, readyState].
// The body of the function Selenium's execute_script runs (arguments[i], return).
return [location.href, document.title, document.readyState];
