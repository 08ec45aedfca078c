// sayso live voice: the page half. Microphone frames go to the server over a WebSocket and
// speech comes back as PCM into an AudioWorklet queue; the session's TurnEvents arrive as JSON.
// Off by default: the "Live voice" button starts it; when the socket fails the page says so and
// the Record button (Gradio's streaming path) keeps working as the fallback.
//
// window.saysoLive.log records timestamped events for measurements: speech-start/-end (from
// the captured frames' level), play-start / flushed / idle (from the player worklet), all in
// performance.now() milliseconds, plus the AudioContext time "t" where the audio thread gave it.
(() => {
  'use strict';
  if (window.saysoLive && window.saysoLive.loaded) return;
  const S = window.saysoLive = Object.assign(window.saysoLive || {}, {
    loaded: true, state: 'off', log: [], partial: '', played: 0, turns: {},
  });
  const realGetUserMedia = navigator.mediaDevices && navigator.mediaDevices.getUserMedia
    ? navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices) : null;
  const SPEECH_RMS = 0.004;  // frames above this level count as speech (for the log and meter)
  const QUIET_MS = 400;  // this much quiet ends a stretch of speech
  // barge-in, before the server's VAD confirms it (~250 ms): this many loud frames in a row
  // while a reply plays hold the output silent; no vad-start within HOLD_MS resumes it
  const HOLD_RMS = 0.01, HOLD_FRAMES = 3, HOLD_MS = 700;
  const MAX_LOG = 4000;
  let ctx = null, stream = null, src = null, capture = null, player = null, ws = null;
  let cut = new Set();  // turns whose audio was flushed (barge-in): late chunks are dropped
  let seen = new Set();  // turns whose audio reached the player
  let playing = false, refreshTimer = 0, wanted = false;
  let loudRun = 0, holdTimer = 0;

  const el = (id) => document.getElementById(id);
  function note(kind, extra) {
    S.log.push(Object.assign({ kind, perf: performance.now() }, extra || {}));
    if (S.log.length > MAX_LOG) S.log.splice(0, MAX_LOG / 4);
  }
  function ctxPerf(c, t) {
    const ts = c.getOutputTimestamp ? c.getOutputTimestamp() : null;
    if (!ts || !ts.performanceTime) return performance.now();
    return ts.performanceTime + (t - ts.contextTime) * 1000;
  }
  function show(state, text) {
    S.state = state;
    const box = el('sayso-live');
    if (box) box.dataset.state = state;
    const b = el('sayso-live-toggle');
    if (b) {
      const on = state === 'on' || state === 'connecting';
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.textContent = on ? 'Stop live voice' : 'Live voice';
    }
    const s = el('sayso-live-state');
    if (s && text !== undefined) s.textContent = text;
  }
  function showPartial(text, final) {
    S.partial = text;
    const p = el('sayso-live-partial');
    if (p) { p.textContent = text; p.dataset.final = final ? 'true' : 'false'; }
  }

  // ------------------------------------------------------------------ speech level (log, meter)
  function levelTracker(source) {
    let speaking = false, lastLoud = 0, lastLoudPerf = 0;
    return (c, rms, t) => {
      const loud = rms > SPEECH_RMS;
      if (loud) {
        if (!speaking) {
          speaking = true;
          note('speech-start', { source, t, perfAudio: ctxPerf(c, t) });
        }
        lastLoud = t;
        lastLoudPerf = ctxPerf(c, t);
      } else if (speaking && (t - lastLoud) * 1000 >= QUIET_MS) {
        speaking = false;
        note('speech-end', { source, t: lastLoud, perfAudio: lastLoudPerf });
      }
    };
  }

  // ------------------------------------------------------------------ the socket
  function token() {
    const t = document.querySelector('#sayso-live-token textarea, #sayso-live-token input');
    return t ? t.value : '';
  }
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = 0;
      const b = el('sayso-live-refresh');
      if (b) b.click();
    }, 120);
  }
  function hold(rms) {
    loudRun = rms > HOLD_RMS ? loudRun + 1 : 0;
    if (loudRun !== HOLD_FRAMES || !playing || !player || holdTimer) return;
    player.port.postMessage({ cmd: 'hold' });
    note('hold');
    holdTimer = setTimeout(() => {  // no speech confirmed: it was a noise, play on
      holdTimer = 0;
      if (player) player.port.postMessage({ cmd: 'release' });
      note('release');
    }, HOLD_MS);
  }
  function flush(reason) {
    if (holdTimer) { clearTimeout(holdTimer); holdTimer = 0; }
    if (player) player.port.postMessage({ cmd: 'flush' });
    seen.forEach((t) => cut.add(t));
    note('flush', { reason });
  }
  function onEvent(msg) {
    const type = msg.type, d = msg.data || {};
    if (type === 'ready') {
      show('on', d.mic ? 'Live voice: listening. Just talk.' : 'Live voice: no microphone listening on the server.');
      note('ready');
    } else if (type === 'vad-start') {
      if (playing || holdTimer || seen.size) flush('barge-in');
      showPartial('…', false);
      note('vad-start', { turn: msg.turn });
    } else if (type === 'stt-partial') {
      showPartial(String(d.text || ''), false);
      note('partial', { turn: msg.turn, text: String(d.text || '') });
    } else if (type === 'stt-end') {
      showPartial(String(d.text || ''), true);
      note('transcript', { turn: msg.turn, text: String(d.text || '') });
      scheduleRefresh();
    } else if (type === 'vad-end') {
      note('vad-end', { turn: msg.turn });
    } else if (type === 'turn-end' || type === 'cancelled') {
      note(type, { turn: msg.turn });
      scheduleRefresh();
    } else if (type === 'view' || type === 'tool-end' || type === 'browser-state' || type === 'error') {
      if (type !== 'view') note(type, { turn: msg.turn });
      scheduleRefresh();
    } else if (type === 'closed') {
      note('closed', { message: String(d.message || '') });
      stop(String(d.message || 'Live voice stopped.'));
    }
  }
  function onAudio(buf) {
    if (!player || buf.byteLength < 10) return;
    const turn = new TextDecoder().decode(new Uint8Array(buf, 0, 8)).trim();
    if (cut.has(turn)) return;  // a cancelled turn's speech still on the wire
    const pcm = new Int16Array(buf.slice(8));
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    seen.add(turn);
    player.port.postMessage({ cmd: 'push', samples: f, turn }, [f.buffer]);
  }

  async function start() {
    if (S.state === 'on' || S.state === 'connecting') return;
    wanted = true;
    show('connecting', 'Live voice: starting…');
    const tok = token();
    if (!tok) { stop('Live voice is not available for this page (no session); use Record.'); return; }
    try {
      if (!realGetUserMedia || !window.AudioWorkletNode) throw new Error('no audio worklets');
      stream = await realGetUserMedia({ audio: {
        channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
      ctx = new AudioContext({ latencyHint: 'interactive' });
      await ctx.audioWorklet.addModule(new URL('sayso/js/live-worklet.js', document.baseURI).href);
      if (ctx.state !== 'running') await ctx.resume();
      src = ctx.createMediaStreamSource(stream);
      capture = new AudioWorkletNode(ctx, 'sayso-capture', { numberOfInputs: 1, numberOfOutputs: 0,
        channelCount: 1, channelCountMode: 'explicit' });
      player = new AudioWorkletNode(ctx, 'sayso-player', { numberOfInputs: 0, outputChannelCount: [1] });
      player.connect(ctx.destination);
      src.connect(capture);
    } catch (err) {
      stop('Live voice could not use the microphone (' + (err && err.name || 'error') + '); use Record.');
      return;
    }
    const level = levelTracker('live');
    capture.port.onmessage = (e) => {
      const d = e.data;
      level(ctx, d.rms, d.t);
      hold(d.rms);
      if (ws && ws.readyState === 1) ws.send(d.pcm);
    };
    player.port.onmessage = (e) => {
      const d = e.data;
      const perfAudio = ctxPerf(ctx, d.t);
      if (d.ev === 'start') {
        playing = true;
        S.played += 1;
        if (!S.turns[d.turn]) S.turns[d.turn] = perfAudio;
        note('play-start', { turn: d.turn, t: d.t, perfAudio });
      } else {
        playing = false;
        note(d.ev, { turn: d.turn, t: d.t, perfAudio });  // 'idle', 'flushed' or 'held'
      }
    };
    const url = new URL('sayso/live', document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let opened = false;
    ws = new WebSocket(url.href);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ type: 'hello', token: tok, rate: ctx.sampleRate }));
    };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        let msg = null;
        try { msg = JSON.parse(e.data); } catch (_) { return; }
        if (msg && typeof msg === 'object') onEvent(msg);
      } else {
        onAudio(e.data);
      }
    };
    ws.onclose = () => {
      if (!wanted) return;
      stop(opened ? 'Live voice disconnected; listening through the Record button instead.'
                  : 'Live voice could not connect; listening through the Record button instead.');
      fallBack();
    };
  }

  function stop(text) {
    wanted = false;
    const sock = ws; ws = null;
    if (sock && sock.readyState <= 1) sock.close();
    if (capture) capture.port.postMessage({ cmd: 'stop' });
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ctx) ctx.close();
    ctx = stream = src = capture = player = null;
    playing = false;
    if (holdTimer) { clearTimeout(holdTimer); holdTimer = 0; }
    loudRun = 0;
    cut = new Set(); seen = new Set();
    show(text && !/^Live voice is off/.test(text) ? 'fallback' : 'off',
         text || 'Live voice is off; the Record button works as before.');
  }

  // the socket failed while the user wanted to talk: start Gradio's microphone stream instead
  function fallBack() {
    const rec = Array.from(document.querySelectorAll('#sayso-mic button'))
      .find((b) => /record/i.test(b.textContent || '') && !/stop/i.test(b.textContent || ''));
    if (rec) { rec.click(); note('fallback'); }
  }

  S.start = start;
  S.stop = () => stop('Live voice is off; the Record button works as before.');

  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    if (t.closest('#sayso-live-toggle')) {
      if (S.state === 'on' || S.state === 'connecting') S.stop(); else start();
    } else if (t.closest('#sayso-stop')) {
      flush('stop');
      if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'stop' }));
    }
  });
  // while live voice plays the replies, Gradio's reply player stays muted (no double speech)
  document.addEventListener('play', (e) => {
    const a = e.target;
    if (a instanceof HTMLMediaElement && a.closest('#sayso-reply')) {
      if (S.state === 'on') a.muted = true; else a.muted = false;
    }
  }, true);
  ['play', 'playing', 'loadstart'].forEach((kind) => document.addEventListener(kind, (e) => {
    const a = e.target;
    if (a instanceof HTMLMediaElement && a.closest('#sayso-reply')) note('reply-' + kind);
  }, true));

  // measurements only: tap whatever microphone the page opens (the Record path) for its level
  if (window.saysoMeasure && realGetUserMedia) {
    navigator.mediaDevices.getUserMedia = async (c) => {
      const st = await realGetUserMedia(c);
      try {
        const tc = new AudioContext();
        await tc.audioWorklet.addModule(new URL('sayso/js/live-worklet.js', document.baseURI).href);
        const node = new AudioWorkletNode(tc, 'sayso-capture', { numberOfOutputs: 0 });
        const level = levelTracker('record');
        node.port.onmessage = (e) => level(tc, e.data.rms, e.data.t);
        tc.createMediaStreamSource(st).connect(node);
        S.tap = tc;
      } catch (err) { note('tap-failed', { message: String(err) }); }
      return st;
    };
  }
})();
