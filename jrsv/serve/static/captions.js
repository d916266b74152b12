// jrsv live captions: stream the microphone or a file to /ws/live, show partial and final
// captions of both tracks. URL parameters: overlay=1 (transparent, no controls), lines=N
// (captions kept per lane, default 2), speed=X (file streaming pace, default 1 = real time).
"use strict";
const params = new URLSearchParams(location.search);
const LINES = Math.max(1, parseInt(params.get("lines") || "2", 10));
const SPEED = Math.max(0.1, parseFloat(params.get("speed") || "1"));
if (params.get("overlay") === "1") document.body.classList.add("overlay");

const $ = (id) => document.getElementById(id);
const lanes = {};
for (const el of document.querySelectorAll(".lane")) lanes[el.dataset.track] = el.querySelector(".captions");
let session = null;   // {ws, stop()}

function status(text) { $("status").textContent = text; }

function show(ev) {
  const lane = lanes[ev.track];
  if (!lane) return;
  let el = lane.querySelector(`[data-id="${ev.id}"]`);
  if (ev.type === "final" && !ev.text) { if (el) el.remove(); return; }  // withdrawn
  if (!el) {
    el = document.createElement("div");
    el.className = "caption";
    el.dataset.id = ev.id;
    lane.appendChild(el);
  }
  el.textContent = ev.text;
  el.dataset.start = ev.start;
  el.dataset.end = ev.end;
  el.classList.toggle("partial", ev.type === "partial");
  el.classList.toggle("final", ev.type === "final");
  while (lane.children.length > LINES) lane.firstElementChild.remove();
}

function open(sampleRate) {
  return new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/live`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify({sample_rate: sampleRate, channels: 1, format: "f32le"}));
    ws.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      if (ev.type === "ready") resolve(ws);
      else if (ev.type === "done") { status("done"); ws.close(); }
      else if (ev.type === "error") { status("error: " + ev.message); }
      else show(ev);
    };
    ws.onerror = () => { status("connection error"); reject(new Error("websocket")); };
    ws.onclose = () => { if (session && session.ws === ws) stopped(); };
  });
}

function started(s) { session = s; $("stop").disabled = false; }
function stopped() { session = null; $("stop").disabled = true; }

async function streamBuffer(buf, label) {
  const rate = buf.sampleRate, n = buf.length, step = Math.round(rate / 10);
  const mono = new Float32Array(n);
  for (let c = 0; c < buf.numberOfChannels; c++) {
    const d = buf.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i] += d[i] / buf.numberOfChannels;
  }
  const ws = await open(rate);
  let cancelled = false;
  started({ws, stop() { cancelled = true; ws.close(); }});
  let player = null;
  if ($("play").checked && SPEED === 1) {
    player = new AudioContext();
    const src = player.createBufferSource();
    src.buffer = buf; src.connect(player.destination); src.start();
  }
  status(`streaming ${label}`);
  const t0 = performance.now();
  for (let i = 0; i < n && !cancelled; i += step) {
    const due = t0 + (i + step) / rate * 1000 / SPEED;   // when this block would be captured
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(mono.slice(i, i + step).buffer);
  }
  if (ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify({type: "end"})); status(`finishing ${label}`); }
  if (player) setTimeout(() => player.close(), 500);
}

async function decodeFile(arrayBuffer) {
  const ctx = new OfflineAudioContext(1, 1, 44100);
  return await ctx.decodeAudioData(arrayBuffer);
}

$("stream-file").onclick = async () => {
  const f = $("file").files[0];
  if (!f) { status("choose an audio file first"); return; }
  try { await streamBuffer(await decodeFile(await f.arrayBuffer()), f.name); }
  catch (e) { status(`cannot stream ${f.name}: ${e.message || e}`); }
};

$("stream-sample").onclick = async () => {
  try {
    const r = await fetch("/sample.flac");
    await streamBuffer(await decodeFile(await r.arrayBuffer()), "the sample");
  } catch (e) { status(`cannot stream the sample: ${e.message || e}`); }
};

$("mic").onclick = async () => {
  try {
    const media = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1}});
    const ctx = new AudioContext();
    await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
    const ws = await open(ctx.sampleRate);
    const src = ctx.createMediaStreamSource(media);
    const tap = new AudioWorkletNode(ctx, "pcm-tap");
    const step = Math.round(ctx.sampleRate / 10);
    let pending = [], count = 0;
    tap.port.onmessage = (m) => {
      pending.push(m.data); count += m.data.length;
      if (count >= step && ws.readyState === WebSocket.OPEN) {
        const out = new Float32Array(count); let o = 0;
        for (const p of pending) { out.set(p, o); o += p.length; }
        ws.send(out.buffer); pending = []; count = 0;
      }
    };
    src.connect(tap);
    started({ws, stop() {
      media.getTracks().forEach((t) => t.stop()); ctx.close();
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "end"}));
    }});
    status("listening to the microphone");
  } catch (e) { status(`microphone: ${e.message || e}`); }
};

$("stop").onclick = () => { if (session) session.stop(); };
