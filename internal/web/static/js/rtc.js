// WebRTC helpers shared by the console (an operator talking to a callee)
// and the supervisor (listening to a live call). Parley's signalling is
// one HTTP request: the page gathers all its ICE candidates, posts the
// whole offer and applies the whole answer (no trickle). Parley speaks
// PCMU only, so the page puts it first and no one transcodes.

// preferPCMU orders the transceiver's codecs PCMU first (then DTMF
// events), where the browser lets the page choose.
export function preferPCMU(tr) {
  if (!tr || !tr.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities("audio");
  if (!caps) return;
  const rank = (c) => { const m = c.mimeType.toLowerCase(); return m === "audio/pcmu" ? 0 : m === "audio/telephone-event" ? 1 : 2; };
  try { tr.setCodecPreferences([...caps.codecs].sort((a, b) => rank(a) - rank(b))); } catch { /* the browser's own order then */ }
}

// gathered resolves when the peer's ICE gathering is complete (or after
// limitMs, with the candidates found so far: a host candidate is enough
// on most networks, and waiting longer only delays the answer).
export function gathered(pc, limitMs = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((done) => {
    const t = setTimeout(done, limitMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(t); done(); }
    });
  });
}

// offer makes the peer's offer and waits for its candidates; it returns
// the SDP to post.
export async function offer(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  return pc.localDescription.sdp;
}

// Meter measures a remote stream's level with WebAudio every 100 ms:
// stats.frames measures, stats.loud of them above speech level, the
// last and the highest RMS (0..1). Chromium feeds a remote WebRTC track
// to WebAudio only while a media element plays it, so the caller passes
// the element that plays the stream.
export class Meter {
  // ctx, if given, is the page's AudioContext (kept open on stop).
  constructor(stream, stats, onLevel, ctx) {
    this.stats = stats;
    Object.assign(stats, { frames: 0, loud: 0, rms: 0, maxRms: 0 });
    try {
      this.own = !ctx;
      this.ctx = ctx || new AudioContext();
      this.ctx.resume().catch(() => {});
      const an = this.ctx.createAnalyser();
      an.fftSize = 2048;
      this.src = this.ctx.createMediaStreamSource(stream);
      this.src.connect(an);
      const buf = new Float32Array(an.fftSize);
      this.timer = setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        const rms = Math.sqrt(sum / buf.length);
        stats.frames++;
        stats.rms = rms;
        stats.maxRms = Math.max(stats.maxRms, rms);
        if (rms > 0.02) stats.loud++;
        if (onLevel) onLevel(rms);
      }, 100);
    } catch (x) { stats.error = String(x); }
  }

  stop() {
    clearInterval(this.timer);
    if (this.src) this.src.disconnect();
    if (this.ctx && this.own) this.ctx.close().catch(() => {});
  }
}

// codecOf reads the codec the peer receives with, once media flows.
export async function codecOf(pc) {
  try {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === "inbound-rtp" && s.kind === "audio" && s.codecId) {
        const c = stats.get(s.codecId);
        if (c) return c.mimeType;
      }
    }
  } catch { /* no stats: unknown */ }
  return "";
}
