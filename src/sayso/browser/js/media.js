// Play, pause, mute or unmute (arguments[0]) the playing or the largest video/audio (async).
// The body of the function Selenium's execute_script runs (arguments[i], return).
const action = arguments[0], done = arguments[arguments.length - 1];
const all = Array.from(document.querySelectorAll('video,audio'));
if (!all.length) { done(null); return; }
const area = (m) => { const r = m.getBoundingClientRect(); return r.width * r.height; };
const m = all.find(x => !x.paused) || all.slice().sort((a, b) => area(b) - area(a))[0];
const state = () => ({tag: m.tagName.toLowerCase(), paused: m.paused, muted: m.muted, error: ''});
if (action === 'play') {
  let finished = false;
  const finish = (s) => { if (!finished) { finished = true; done(s); } };
  setTimeout(() => finish(state()), 3000);
  Promise.resolve(m.play()).then(() => finish(state())).catch((e) => finish(Object.assign(state(), {error: e.name})));
  return;
}
if (action === 'pause') m.pause();
if (action === 'mute') m.muted = true;
if (action === 'unmute') { m.muted = false; if (m.volume === 0) m.volume = 1; }
done(state());
