// sayso live voice: the audio-thread half (AudioWorklet processors).
//
// "sayso-capture": cuts the microphone into 20 ms frames of int16 mono PCM at the context's
// rate and posts each (transferred) with its RMS level and the context time of its last sample.
// "sayso-player": plays queued float32 PCM chunks; a "flush" empties the queue at once. It
// posts "start" when a turn's audio begins to sound, and "idle" / "flushed" / "held" when the
// output goes silent, each with the exact context time of that sample. "hold" silences the
// output at once but keeps the queue ("release" resumes it): the page holds while the user
// may be barging in, before the server's VAD has confirmed speech.
/* global sampleRate, currentTime, registerProcessor, AudioWorkletProcessor */
'use strict';

class SaysoCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.n = Math.round(sampleRate * 0.02);
    this.buf = new Int16Array(this.n);
    this.i = 0;
    this.sum = 0;
    this.on = true;
    this.port.onmessage = (e) => { if (e.data && e.data.cmd === 'stop') this.on = false; };
  }

  process(inputs) {
    if (!this.on) return false;
    const input = inputs[0];
    const ch = input && input[0];
    if (!ch) return true;
    for (let k = 0; k < ch.length; k++) {
      let v = ch[k];
      if (input.length > 1) v = (v + input[1][k]) / 2;
      v = v > 1 ? 1 : (v < -1 ? -1 : v);
      this.buf[this.i++] = v < 0 ? v * 32768 : v * 32767;
      this.sum += v * v;
      if (this.i === this.n) {
        const frame = this.buf;
        this.port.postMessage({ pcm: frame.buffer, rms: Math.sqrt(this.sum / this.n),
                                t: currentTime + (k + 1) / sampleRate }, [frame.buffer]);
        this.buf = new Int16Array(this.n);
        this.i = 0;
        this.sum = 0;
      }
    }
    return true;
  }
}

class SaysoPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.q = [];
    this.off = 0;
    this.turn = '';
    this.playing = false;
    this.flushed = false;
    this.held = false;
    this.port.onmessage = (e) => {
      const d = e.data || {};
      if (d.cmd === 'push' && d.samples instanceof Float32Array) {
        this.q.push({ s: d.samples, turn: String(d.turn || '') });
      } else if (d.cmd === 'flush') {
        this.q = [];
        this.off = 0;
        this.flushed = true;
        this.held = false;
      } else if (d.cmd === 'hold') {  // silent at once, the queue kept (maybe a barge-in)
        this.held = true;
      } else if (d.cmd === 'release') {
        this.held = false;
      }
    };
  }

  process(inputs, outputs) {
    const chans = outputs[0];
    const out = chans[0];
    let k = 0;
    if (this.held) {
      out.fill(0);
      if (this.playing) {
        this.playing = false;
        this.port.postMessage({ ev: 'held', turn: this.turn, t: currentTime });
      }
      for (let c = 1; c < chans.length; c++) chans[c].fill(0);
      return true;
    }
    while (k < out.length && this.q.length) {
      const head = this.q[0];
      if (!this.playing || head.turn !== this.turn) {
        this.playing = true;
        this.turn = head.turn;
        this.port.postMessage({ ev: 'start', turn: head.turn, t: currentTime + k / sampleRate });
      }
      const n = Math.min(out.length - k, head.s.length - this.off);
      out.set(head.s.subarray(this.off, this.off + n), k);
      k += n;
      this.off += n;
      if (this.off >= head.s.length) { this.q.shift(); this.off = 0; }
    }
    if (k < out.length) {
      out.fill(0, k);
      if (this.playing) {
        this.playing = false;
        this.port.postMessage({ ev: this.flushed ? 'flushed' : 'idle', turn: this.turn,
                                t: currentTime + k / sampleRate });
      }
    }
    this.flushed = false;
    for (let c = 1; c < chans.length; c++) chans[c].set(out);
    return true;
  }
}

registerProcessor('sayso-capture', SaysoCapture);
registerProcessor('sayso-player', SaysoPlayer);
