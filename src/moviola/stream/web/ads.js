// ads.js — ad breaks for the title page: VMAP schedule, VAST ads, SIMID overlays, on video.js.
//
//   const runtime = await playWithAds(videoElement, { member, titleId, onContentPlay });
//   ...
//   runtime.dispose();
//
// The flow: fetch the member's VMAP (GET /ads/vmap?member=M&title=T), schedule its linear
// breaks (timeOffset start | end | HH:MM:SS(.mmm) | n%), and at each break get the VAST
// (inline <vmap:VASTAdData> or fetched from <vmap:AdTagURI>), parse it with vast-client,
// play the pod in Ad@sequence order by swapping the player's source to each ad's MediaFile,
// track it with VASTTracker, run a SIMID overlay (simid_host.js) when the Linear has an
// <InteractiveCreativeFile apiFramework="SIMID">, then put the content back where it was.
//
// The rule above all: an ad never blocks the title. A VMAP or VAST that fails to load or
// parse, an empty VAST, media that errors or stalls, a creative that never answers: each is
// logged and reported to the ad's <Error> URLs, and the content plays. Every wait is bounded.
//
// Error URLs: Moviola's VAST cannot carry the [ERRORCODE] macro (the VAST 4.2 XSD's anyURI
// check rejects "["), so every Error URL we ping also gets `code=<n>` appended as a query
// parameter (and `simid_code=<n>` for a SIMID failure reported as VAST 902), on top of the
// macro replacement vast-client does for documents that do carry macros.
//
// For tests and debugging the runtime keeps `window.moviolaAds = {state, log}`: state is
// "loading" | "content" | "break" | "ad" | "ended" | "disposed"; log holds what happened
// ({t, kind, ...}: vmap, break-start/end, ad-start/impression/complete/skip/end, simid-sent/
// simid-received with the message type, simid lifecycle, content, error with its code).
//
// VMAP is parsed here with DOMParser (it is a dozen elements, namespace-checked), rather
// than with another vendored package; the VAST inside it goes to vast-client.

import { VASTClient, VASTTracker } from "./vendor/vast-client.min.js";
import { SimidHost, PlayerError, StopCode } from "./simid_host.js";

export const VMAP_NS = "http://www.iab.net/videosuite/vmap";
const VIDEOJS_URL = new URL("./vendor/video.core.min.js", import.meta.url).href;
const VIDEOJS_CSS_URL = new URL("./vendor/video-js.min.css", import.meta.url).href;
const VAST_CLIENT_VERSION = "6.4.5";

const DEFAULT_TIMEOUTS = {
  vmap: 3000,          // the VMAP request (the content waits for it: keep it short)
  vast: 5000,          // each VAST request, wrappers included (vast-client's own timeout)
  firstFrame: 8000,    // an ad's media must show a frame by then (else VAST 402)
  stall: 10000,        // an ad that stops progressing while playing (VAST 402)
  maxExtension: 60000, // the longest a SIMID creative may keep the ad after its media ended
  simid: {},           // see simid_host.js DEFAULT_TIMEOUTS
};
const MAX_AD_DURATION = 300; // seconds a creative may ask for (requestChangeAdDuration)
const MAX_LOG = 5000;

// VMAP 1.0.1 error codes fired to a break's <vmap:Tracking event="error"> URLs.
const VmapError = Object.freeze({
  BREAK_TYPE_UNSUPPORTED: 1003,
  AD_RESPONSE_ERROR: 1004,
  TEMPLATE_UNSUPPORTED: 1005,
  AD_RESPONSE_PARSING: 1006,
  AD_RESPONSE_TIMEOUT: 1007,
  AD_RESPONSE_RETRIEVAL: 1008,
});

// ------------------------------------------------------------------ loading video.js

let videojsLoading = null;

/** Loads video.js (UMD, global `videojs`) and its CSS once, without injected <style> tags. */
export function loadVideojs() {
  if (window.videojs) return Promise.resolve(window.videojs);
  if (!videojsLoading) {
    // Read by video.js when it loads: otherwise it adds <style> elements, which the page's
    // CSP (style-src 'self') refuses. style.css sizes the player instead.
    window.VIDEOJS_NO_DYNAMIC_STYLE = true;
    const css = new Promise((resolve) => {
      const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: VIDEOJS_CSS_URL });
      link.addEventListener("load", resolve);
      link.addEventListener("error", resolve); // unstyled controls are no reason to stop
      document.head.append(link);
    });
    const script = new Promise((resolve, reject) => {
      const tag = Object.assign(document.createElement("script"), { src: VIDEOJS_URL });
      tag.addEventListener("load", () => (window.videojs ? resolve(window.videojs) : reject(new Error("video.js did not load"))));
      tag.addEventListener("error", () => reject(new Error(`could not load ${VIDEOJS_URL}`)));
      document.head.append(tag);
    });
    videojsLoading = Promise.all([script, css]).then(([videojs]) => videojs);
    videojsLoading.catch(() => { videojsLoading = null; });
  }
  return videojsLoading;
}

/**
 * Turns a <video> that is in the page into a video.js player and runs the title's ad
 * breaks on it. Resolves with the AdRuntime (call dispose() when leaving the page).
 */
export async function playWithAds(video, { member, titleId, onContentPlay, timeouts } = {}) {
  const videojs = await loadVideojs();
  const content = { src: video.getAttribute("src"), type: "video/mp4" };
  video.classList.add("video-js"); // video.js's skin (video-js.min.css) keys on this class
  const player = videojs(video, { controls: true, preload: "auto", muted: true, playsinline: true,
    autoplay: false, bigPlayButton: true });
  // Hand the source to video.js explicitly: the element may have begun loading before
  // video.js took it over, and then video.js knows no source and would hold play() back
  // until a "loadstart" that already happened.
  player.src(content);
  const query = new URLSearchParams({ member: member || "", title: titleId || "" });
  const runtime = new AdRuntime(player, { vmapUrl: `/ads/vmap?${query}`, content, onContentPlay, timeouts });
  runtime.start();
  return runtime;
}

// -------------------------------------------------------------------- VMAP parsing

/** Parses a VMAP timeOffset: {kind: "start"|"end"|"time"|"percent", seconds|percent} or null. */
export function parseTimeOffset(text) {
  const value = String(text || "").trim();
  if (value === "start") return { kind: "time", seconds: 0 };
  if (value === "end") return { kind: "end" };
  let m = /^(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$/.exec(value);
  if (m) {
    const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4] || 0}`);
    return { kind: "time", seconds };
  }
  m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(value);
  if (m && Number(m[1]) <= 100) {
    const percent = Number(m[1]);
    if (percent === 0) return { kind: "time", seconds: 0 };
    if (percent === 100) return { kind: "end" };
    return { kind: "percent", percent };
  }
  return null; // "#n" (positional) needs cue points this player does not have
}

function vmapChildren(node, localName) {
  return [...node.children].filter((c) => c.namespaceURI === VMAP_NS && c.localName === localName);
}

class AdsError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Parses a VMAP 1.0 document into breaks:
 * {breakId, timeOffset, offset, linear, source: {id, allowMultipleAds, followRedirects,
 *  vast: Element|null, tagUrl: string|null, templateType}, tracking: {breakStart, breakEnd, error}}.
 * URLs are made absolute against baseUrl. Throws AdsError (VMAP 1000-1002) on a bad document.
 */
export function parseVmap(text, baseUrl = location.href) {
  const doc = xmlDocument(text);
  if (!doc) throw new AdsError(1002, "the VMAP is not well-formed XML");
  const root = doc.documentElement;
  if (root.namespaceURI !== VMAP_NS || root.localName !== "VMAP") {
    throw new AdsError(1000, `the root is not vmap:VMAP in ${VMAP_NS}`);
  }
  if (!/^1(\.\d+)*$/.test(root.getAttribute("version") || "")) {
    throw new AdsError(1001, `VMAP version ${root.getAttribute("version")} is not supported`);
  }
  const absolute = (url) => { try { return new URL(url.trim(), baseUrl).href; } catch { return null; } };
  return vmapChildren(root, "AdBreak").map((node, index) => {
    const tracking = { breakStart: [], breakEnd: [], error: [] };
    for (const events of vmapChildren(node, "TrackingEvents")) {
      for (const t of vmapChildren(events, "Tracking")) {
        const url = absolute(t.textContent);
        if (url && tracking[t.getAttribute("event")]) tracking[t.getAttribute("event")].push(url);
      }
    }
    const sourceNode = vmapChildren(node, "AdSource")[0];
    let source = null;
    if (sourceNode) {
      const vastData = vmapChildren(sourceNode, "VASTAdData")[0];
      const tag = vmapChildren(sourceNode, "AdTagURI")[0];
      const custom = vmapChildren(sourceNode, "CustomAdData")[0];
      source = {
        id: sourceNode.getAttribute("id"),
        allowMultipleAds: sourceNode.getAttribute("allowMultipleAds") !== "false",
        followRedirects: sourceNode.getAttribute("followRedirects") !== "false",
        vast: vastData ? [...vastData.children].find((c) => c.localName === "VAST") || null : null,
        tagUrl: tag ? absolute(tag.textContent) : null,
        templateType: (tag || custom)?.getAttribute("templateType") || null,
        custom: Boolean(custom),
      };
    }
    const types = (node.getAttribute("breakType") || "").split(",").map((s) => s.trim());
    return {
      breakId: node.getAttribute("breakId") || `break-${index + 1}`,
      timeOffset: node.getAttribute("timeOffset"),
      offset: parseTimeOffset(node.getAttribute("timeOffset")),
      linear: types.includes("linear"),
      source,
      tracking,
      done: false,
    };
  });
}

// -------------------------------------------------------------------- small helpers

/** Appends query parameters to a URL as text (so that macros elsewhere in it stay intact). */
export function appendQuery(url, params) {
  const extra = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  if (!extra) return url;
  const hashAt = url.indexOf("#");
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const hash = hashAt < 0 ? "" : url.slice(hashAt);
  const joiner = !base.includes("?") ? "?" : /[?&]$/.test(base) ? "" : "&";
  return base + joiner + extra + hash;
}

/** Replaces the few VAST macros a VMAP tracker may carry (vast-client does the VAST ones). */
function fillMacros(url, macros) {
  return url.replace(/\[([A-Z]+)\]|%%([A-Z]+)%%/g, (whole, a, b) => {
    const value = macros[a || b];
    return value === undefined ? whole : encodeURIComponent(String(value));
  });
}

/** Parses XML text: the Document, or null when it is not well-formed. */
function xmlDocument(text) {
  // (Chromium's <parsererror> for a bad document carries inline styles: the page's CSP
  // reports them as violations. They belong to this inert document and change nothing.)
  const doc = new DOMParser().parseFromString(text, "application/xml");
  return doc.getElementsByTagName("parsererror").length ? null : doc;
}

function ping(url) {
  const img = new Image();
  img.src = url;
}

/** XML-decodes AdParameters that say xmlEncoded="true". */
function xmlDecode(text) {
  const named = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (whole, ref) => {
    if (ref[0] !== "#") return named[ref];
    const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
  });
}

function timecode(seconds) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** The MediaFile to play: progressive, a type this browser plays, MP4 first, nearest width. */
export function pickMediaFile(mediaFiles, video, targetWidth = 1280) {
  const playable = (mediaFiles || []).filter((m) => {
    if (!m.fileURL || !m.mimeType || m.apiFramework) return false; // VPAID and the like: no
    if (m.deliveryType && m.deliveryType !== "progressive") return false;
    const type = m.codec ? `${m.mimeType}; codecs="${m.codec}"` : m.mimeType;
    return video.canPlayType(type) !== "";
  });
  const score = (m) => [m.mimeType === "video/mp4" ? 0 : 1, Math.abs((m.width || 0) - targetWidth)];
  playable.sort((a, b) => {
    const [a1, a2] = score(a);
    const [b1, b2] = score(b);
    return a1 - b1 || a2 - b2;
  });
  return playable[0] || null;
}

/** VAST error code for a media element error. */
function vastCodeForMediaError(error) {
  switch (error?.code) {
    case 1: return 400; // aborted: general linear error
    case 2: return 401; // network: file not found / unreachable
    case 3: return 405; // decode: problem displaying the MediaFile
    default: return 405; // not supported (Chromium also says so for a 404)
  }
}

/** The adapter simid_host.js drives the media through. */
function mediaAdapter(player) {
  const finite = (x) => (Number.isFinite(x) ? x : -1);
  return {
    currentSrc: () => player.currentSrc(),
    currentTime: () => finite(player.currentTime()),
    duration: () => finite(player.duration()),
    ended: () => player.ended(),
    muted: () => player.muted(),
    paused: () => player.paused(),
    volume: () => player.volume(),
    play: () => Promise.resolve(player.play()),
    pause: () => player.pause(),
    setVolume: (v) => player.volume(v),
    setMuted: (m) => player.muted(m),
    isFullscreen: () => player.isFullscreen(),
    requestFullscreen: () => Promise.resolve(player.requestFullscreen()),
    exitFullscreen: () => Promise.resolve(player.exitFullscreen()),
    error: () => player.error(),
    on: (type, fn) => player.on(type, fn),
    off: (type, fn) => player.off(type, fn),
  };
}

// ---------------------------------------------------------------------- the runtime

export class AdRuntime {
  /**
   * @param player   a video.js player whose source is the content
   * @param options  {vmapUrl, content: {src, type}, onContentPlay(), timeouts}
   */
  constructor(player, { vmapUrl, content, onContentPlay, timeouts = {} }) {
    this.player = player;
    this.vmapUrl = vmapUrl;
    this.vmapBase = new URL(vmapUrl, location.href).href; // inline VAST URLs resolve against it
    this.content = content;
    this.onContentPlay = onContentPlay || (() => {});
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts, simid: { ...DEFAULT_TIMEOUTS.simid, ...(timeouts.simid || {}) } };
    this.breaks = [];
    this.mode = "loading"; // "content" | "ad" | "ended" | "disposed"
    this.current = null;   // the ad playing now (its context)
    this.client = new VASTClient(0, 0); // no capping: the ad server decides
    this.watchVastErrors();
    this.hook = { state: "loading", log: [] };
    window.moviolaAds = this.hook;
    this.contentListeners = [];
    this.ui = null;
  }

  record(kind, detail = {}) {
    const log = this.hook.log;
    log.push({ t: Math.round(performance.now()), kind, ...detail });
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
  }

  setState(state) {
    this.hook.state = state;
  }

  /** vast-client pings Error URLs itself (303 no ad, 301 wrapper timeout...): add code=<n>. */
  watchVastErrors() {
    const parser = this.client.getParser();
    const track = parser.trackVastError.bind(parser);
    parser.trackVastError = (templates, macros, ...data) => {
      const code = macros?.ERRORCODE;
      const withCode = (templates || []).map((t) => appendQuery(typeof t === "string" ? t : t.url, { code }));
      this.record("error", { code: Number(code), where: "vast", message: "vast-client reported a VAST error" });
      return track(withCode, macros, ...data);
    };
  }

  // ------------------------------------------------------------------ schedule

  async start() {
    this.setState("loading");
    try {
      this.breaks = await this.fetchVmap();
    } catch (error) {
      this.record("error", { code: error.code || VmapError.AD_RESPONSE_RETRIEVAL, where: "vmap", message: String(error.message || error) });
      this.breaks = [];
    }
    if (this.mode === "disposed") return;
    this.record("vmap", { breaks: this.breaks.map((b) => ({ breakId: b.breakId, timeOffset: b.timeOffset })) });
    for (const brk of this.breaks) {
      if (!brk.linear) {
        brk.done = true; // nonlinear / display breaks: not this player's
        this.vmapError(brk, VmapError.BREAK_TYPE_UNSUPPORTED, "only linear breaks are played");
      } else if (!brk.offset) {
        brk.done = true;
        this.vmapError(brk, VmapError.BREAK_TYPE_UNSUPPORTED, `timeOffset ${brk.timeOffset} is not supported`);
      }
    }
    this.listenToContent();
    const prerolls = this.breaks.filter((b) => !b.done && b.offset.kind === "time" && b.offset.seconds === 0);
    if (prerolls.length) await this.runBreaks(prerolls, { resumeAt: 0, contentEnded: false });
    else this.playContent(0);
  }

  async fetchVmap() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeouts.vmap);
    try {
      const answer = await fetch(this.vmapUrl, { signal: controller.signal, credentials: "same-origin",
        headers: { Accept: "application/xml, text/xml" } });
      if (answer.status === 204 || answer.status === 404) return []; // no ads for this title
      if (!answer.ok) throw new AdsError(VmapError.AD_RESPONSE_RETRIEVAL, `VMAP: HTTP ${answer.status}`);
      this.vmapBase = answer.url || new URL(this.vmapUrl, location.href).href;
      return parseVmap(await answer.text(), this.vmapBase);
    } catch (error) {
      if (error.name === "AbortError") throw new AdsError(VmapError.AD_RESPONSE_TIMEOUT, "VMAP request timed out");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  listenToContent() {
    const on = (type, fn) => {
      this.player.on(type, fn);
      this.contentListeners.push([type, fn]);
    };
    on("timeupdate", () => {
      if (this.mode !== "content" || this.player.seeking()) return;
      const now = this.player.currentTime();
      const due = this.breaks.filter((b) => !b.done && this.breakTime(b) !== null && this.breakTime(b) > 0 && this.breakTime(b) <= now);
      if (!due.length) return;
      // A seek may jump over several: play the latest one only, as players commonly do.
      due.sort((a, b) => this.breakTime(a) - this.breakTime(b));
      for (const skipped of due.slice(0, -1)) {
        skipped.done = true;
        this.record("break-skipped", { breakId: skipped.breakId });
      }
      this.runBreaks([due[due.length - 1]], { resumeAt: now, contentEnded: false });
    });
    on("ended", () => {
      if (this.mode !== "content") return;
      const postrolls = this.breaks.filter((b) => !b.done && b.offset.kind === "end");
      this.record("content", { event: "ended" });
      if (postrolls.length) this.runBreaks(postrolls, { resumeAt: 0, contentEnded: true });
      else this.toEnded();
    });
    on("play", () => { if (this.mode === "content") this.onContentPlay(); });
  }

  /** A break's time in content seconds (null while a percentage waits for the duration). */
  breakTime(brk) {
    if (brk.offset.kind === "time") return brk.offset.seconds;
    if (brk.offset.kind === "percent") {
      const duration = this.player.duration();
      return Number.isFinite(duration) && duration > 0 ? (brk.offset.percent / 100) * duration : null;
    }
    return null; // "end"
  }

  playContent(at) {
    if (this.mode === "disposed") return;
    this.mode = "content";
    this.setState("content");
    this.record("content", { event: "play", at });
    // A refused autoplay leaves the title paused with its play button: the viewer starts it.
    this.player.play()?.catch?.(() => this.record("content", { event: "autoplay-refused" }));
  }

  // -------------------------------------------------------------------- breaks

  async runBreaks(list, { resumeAt, contentEnded }) {
    this.mode = "ad";
    this.setState("break");
    this.player.pause();
    this.player.addClass("moviola-ad-playing");
    for (const brk of list) {
      if (this.mode === "disposed") return;
      brk.done = true;
      this.record("break-start", { breakId: brk.breakId, timeOffset: brk.timeOffset });
      brk.tracking.breakStart.forEach((url) => ping(fillMacros(url, this.macros())));
      try {
        const ads = await this.adsOf(brk);
        this.record("break-ads", { breakId: brk.breakId, count: ads.length });
        for (let i = 0; i < ads.length && this.mode !== "disposed"; i += 1) {
          await this.playAd(brk, ads[i], i, ads.length);
        }
      } catch (error) {
        const code = error.code || VmapError.AD_RESPONSE_ERROR;
        this.vmapError(brk, code, String(error.message || error));
      }
      if (this.mode === "disposed") return;
      brk.tracking.breakEnd.forEach((url) => ping(fillMacros(url, this.macros())));
      this.record("break-end", { breakId: brk.breakId });
    }
    this.resumeContent(resumeAt, contentEnded);
  }

  /** The ads of a break's VAST, in pod order (Ad@sequence), or one stand-alone ad. */
  async adsOf(brk) {
    const source = brk.source;
    if (!source) return [];
    if (source.custom) throw new AdsError(VmapError.TEMPLATE_UNSUPPORTED, "vmap:CustomAdData is not supported");
    let doc;
    let url = this.vmapBase;
    if (source.vast) {
      // Re-parse the inline <VAST> as a document of its own, as vast-client expects.
      doc = xmlDocument(new XMLSerializer().serializeToString(source.vast));
    } else if (source.tagUrl) {
      url = source.tagUrl;
      doc = await this.fetchVast(url);
    } else {
      return [];
    }
    if (!doc) throw new AdsError(VmapError.AD_RESPONSE_PARSING, "the VAST is not well-formed XML");
    let response;
    try {
      // vast-client takes it from here: wrappers (fetched with its own timeout), the pod.
      response = await this.client.parseVAST(doc, { timeout: this.timeouts.vast, url, previousUrl: url,
        wrapperLimit: source.followRedirects ? 5 : 1, allowMultipleAds: source.allowMultipleAds, resolveAll: false });
    } catch (error) {
      const message = String(error?.message || error);
      const code = /timeout/i.test(message) ? VmapError.AD_RESPONSE_TIMEOUT
        : /invalid vast|not supported/i.test(message) ? VmapError.AD_RESPONSE_PARSING
          : VmapError.AD_RESPONSE_ERROR;
      throw new AdsError(code, `VAST: ${message}`);
    }
    const ads = response?.ads || [];
    const pod = ads.filter((a) => a.sequence !== null && a.sequence !== undefined && a.sequence !== "")
      .sort((a, b) => Number(a.sequence) - Number(b.sequence));
    const list = pod.length ? pod : ads.slice(0, 1);
    return source.allowMultipleAds ? list : list.slice(0, 1);
  }

  /** Fetches an ad tag's VAST: a Document, null when it is not XML; throws AdsError (1007/1008). */
  async fetchVast(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeouts.vast);
    try {
      const answer = await fetch(url, { signal: controller.signal, credentials: "same-origin",
        headers: { Accept: "application/xml, text/xml" } });
      if (!answer.ok) throw new AdsError(VmapError.AD_RESPONSE_RETRIEVAL, `VAST: HTTP ${answer.status} from ${url}`);
      return xmlDocument(await answer.text());
    } catch (error) {
      if (error.name === "AbortError") throw new AdsError(VmapError.AD_RESPONSE_TIMEOUT, `VAST: no answer from ${url} in time`);
      if (error instanceof AdsError) throw error;
      throw new AdsError(VmapError.AD_RESPONSE_RETRIEVAL, `VAST: ${error.message || error} (${url})`);
    } finally {
      clearTimeout(timer);
    }
  }

  vmapError(brk, code, message) {
    this.record("error", { code, where: "vmap", breakId: brk.breakId, message });
    for (const url of brk.tracking.error) ping(appendQuery(fillMacros(url, { ...this.macros(), ERRORCODE: code }), { code }));
  }

  macros() {
    return { TIMESTAMP: new Date().toISOString(), CACHEBUSTING: String(Math.floor(Math.random() * 1e8)).padStart(8, "0") };
  }

  resumeContent(at, ended) {
    if (this.mode === "disposed") return;
    this.hideAdUi();
    this.player.removeClass("moviola-ad-playing");
    this.player.error(null);
    this.player.src(this.content);
    if (ended) {
      this.toEnded();
      return;
    }
    if (at > 0) this.player.one("loadedmetadata", () => this.player.currentTime(at));
    this.record("content", { event: "resume", at });
    this.playContent(at);
  }

  toEnded() {
    this.mode = "ended";
    this.setState("ended");
    this.record("content", { event: "done" });
  }

  // ---------------------------------------------------------------------- one ad

  /** Plays one ad to its end (complete, skip, stop or error); resolves with the reason. */
  playAd(brk, ad, index, count) {
    return new Promise((resolve) => {
      const ctx = { brk, ad, index, count, id: ad.id || `${brk.breakId}-${index + 1}`, ended: false,
        started: false, completed: false, errorReported: false, listeners: [], timers: [], done: resolve,
        host: null, tracker: null, extendTo: null };
      this.current = ctx;
      this.startAd(ctx).catch((error) => {
        this.record("error", { code: 400, where: "ad", ad: ctx.id, message: String(error?.message || error) });
        this.reportAdError(ctx, 400, {});
        this.finishAd(ctx, "error");
      });
    });
  }

  async startAd(ctx) {
    const { ad } = ctx;
    const creative = (ad.creatives || []).find((c) => c.type === "linear");
    if (!creative) {
      this.reportAdError(ctx, 200, {}); // an ad this player cannot play (no Linear)
      this.finishAd(ctx, "error");
      return;
    }
    ctx.creative = creative;
    ctx.tracker = new VASTTracker(this.client, ad, creative, null, this.player.muted());
    const media = pickMediaFile(creative.mediaFiles, this.videoElement(), this.player.el().clientWidth || 1280);
    if (!media) {
      this.reportAdError(ctx, 403, {}); // no MediaFile this browser can play
      this.finishAd(ctx, "error");
      return;
    }
    ctx.media = media;
    this.mode = "ad";
    this.setState("ad");
    this.record("ad-start", { ad: ctx.id, sequence: ad.sequence, index: ctx.index + 1, of: ctx.count,
      media: media.fileURL, simid: Boolean(this.simidFile(creative)) });
    this.showAdUi(ctx);

    const icf = this.simidFile(creative);
    if (icf) {
      ctx.host = this.simidHost(ctx, icf);
      const readiness = await ctx.host.load(); // bounded by the host's own timeouts
      this.record("simid-ready", { ad: ctx.id, ...readiness });
      if (ctx.ended) return; // the creative ended the ad during the handshake
    }
    this.runAdMedia(ctx);
  }

  simidFile(creative) {
    const icf = creative.interactiveCreativeFile;
    if (!icf || !icf.fileURL || (icf.apiFramework || "").toUpperCase() !== "SIMID") return null;
    if (icf.type && icf.type !== "text/html") return null;
    try {
      const url = new URL(icf.fileURL.trim(), location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? { ...icf, fileURL: url.href } : null;
    } catch {
      return null;
    }
  }

  simidHost(ctx, icf) {
    const { creative, tracker } = ctx;
    const params = creative.adParameters || {};
    const adParameters = params.xmlEncoded === "true" ? xmlDecode(params.value || "") : (params.value || "");
    const environment = {
      skippableState: "adHandles", // the creative may skip (requestSkip); we draw no skip button
      useragent: `Moviola-web/1 video.js/${window.videojs?.VERSION || "?"} vast-client/${VAST_CLIENT_VERSION}`,
      variableDurationAllowed: true,
    };
    if (Number.isFinite(creative.skipDelay) && creative.skipDelay >= 0) environment.skipoffset = timecode(creative.skipDelay);
    return new SimidHost({
      container: this.player.el(),
      media: mediaAdapter(this.player),
      creativeUrl: icf.fileURL,
      creativeData: { adParameters, clickThruUrl: creative.videoClickThroughURLTemplate?.url },
      environment,
      timeouts: this.timeouts.simid,
      delegate: {
        log: (kind, detail) => this.record(kind, { ad: ctx.id, ...detail }),
        reportError: (code, { simidCode, message } = {}) => this.reportAdError(ctx, code, simidCode ? { simid_code: simidCode } : {}, message),
        trackUrls: (urls) => tracker.trackURLs(urls),
        clickThrough: () => { tracker.click(); this.record("ad-click", { ad: ctx.id, by: "creative" }); },
        interactiveStart: () => { tracker.track("interactiveStart", { once: true }); this.record("ad-interactive-start", { ad: ctx.id }); },
        endAd: (reason) => this.finishAd(ctx, reason, { byCreative: true }),
        changeDuration: (seconds) => this.changeAdDuration(ctx, seconds),
        openUrl: (url) => window.open(url, "_blank", "noopener"),
      },
    });
  }

  /** SIMID requestChangeAdDuration: the ad ends at `seconds` of ad time (-2: when the creative says). */
  changeAdDuration(ctx, seconds) {
    if (ctx.ended) return false;
    if (seconds === -2) {
      ctx.extendTo = Infinity;
    } else {
      if (seconds > MAX_AD_DURATION) return false;
      ctx.extendTo = seconds;
      if (this.player.currentTime() >= seconds && !this.player.ended()) {
        setTimeout(() => this.finishAd(ctx, "complete"), 0); // already past it: end now
      }
    }
    this.record("ad-duration", { ad: ctx.id, seconds });
    if (ctx.waitingAfterMedia) this.afterMedia(ctx); // re-plan an extension already running
    return true;
  }

  runAdMedia(ctx) {
    const { tracker, media, host } = ctx;
    const player = this.player;
    const on = (type, fn) => {
      player.on(type, fn);
      ctx.listeners.push([type, fn]);
    };
    const later = (ms, fn) => ctx.timers.push(setTimeout(fn, ms));

    on("loadedmetadata", () => {
      const duration = player.duration();
      if (Number.isFinite(duration) && duration > 0) tracker.setDuration(duration); // quartiles of the real file
    });
    on("playing", () => {
      if (ctx.started) return;
      ctx.started = true;
      ctx.lastProgress = { at: Date.now(), time: player.currentTime() };
      // The first frame is on screen: impression, then the creative starts (§ 6.2, 6.3).
      let fired = false;
      const firstFrame = () => {
        if (fired || ctx.ended) return;
        fired = true;
        tracker.trackImpression();
        this.record("ad-impression", { ad: ctx.id });
        host?.mediaStarted();
      };
      const video = this.videoElement();
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(firstFrame);
      later(250, firstFrame); // rVFC may not call back (hidden tab): do not wait longer
    });
    on("timeupdate", () => {
      const now = player.currentTime();
      if (ctx.started && now > 0) tracker.setProgress(now);
      ctx.lastProgress = { at: Date.now(), time: now };
      this.updateAdUi(ctx);
      if (Number.isFinite(ctx.extendTo) && ctx.extendTo > 0 && now >= ctx.extendTo && !player.ended()) {
        this.finishAd(ctx, "complete"); // the creative shortened the ad
      }
    });
    on("pause", () => { if (ctx.started && !player.ended()) tracker.setPaused(true); });
    on("play", () => { if (ctx.started) tracker.setPaused(false); });
    on("volumechange", () => tracker.setMuted(player.muted()));
    on("fullscreenchange", () => tracker.setFullscreen(player.isFullscreen()));
    on("ended", () => {
      if (!ctx.completed) {
        ctx.completed = true;
        tracker.complete();
        this.record("ad-complete", { ad: ctx.id });
      }
      this.afterMedia(ctx);
    });
    on("error", () => {
      const error = player.error();
      const code = vastCodeForMediaError(error);
      this.record("error", { code, where: "media", ad: ctx.id, message: error?.message || "media error" });
      this.reportAdError(ctx, code, {});
      this.finishAd(ctx, "error", { simidCode: PlayerError.MEDIA_NOT_LOADED, message: "the ad media failed" });
    });

    // Watchdogs: no first frame, or no progress while playing, ends the ad (VAST 402).
    later(this.timeouts.firstFrame, () => {
      if (ctx.started || ctx.ended) return;
      this.record("error", { code: 402, where: "media", ad: ctx.id, message: "no frame in time" });
      this.reportAdError(ctx, 402, {});
      this.finishAd(ctx, "error", { simidCode: PlayerError.MEDIA_TIMEOUT, message: "the ad media timed out" });
    });
    ctx.stallTimer = setInterval(() => {
      if (!ctx.started || ctx.ended || player.paused() || player.ended()) return;
      if (Date.now() - ctx.lastProgress.at > this.timeouts.stall) {
        this.record("error", { code: 402, where: "media", ad: ctx.id, message: "the ad stalled" });
        this.reportAdError(ctx, 402, {});
        this.finishAd(ctx, "error", { simidCode: PlayerError.MEDIA_TIMEOUT, message: "the ad media stalled" });
      }
    }, 1000);

    player.error(null);
    player.src({ src: media.fileURL, type: media.mimeType });
    const play = player.play();
    if (play && play.catch) {
      play.catch((error) => {
        if (ctx.ended) return;
        // Autoplay with sound refused: try again muted, as the content does.
        this.record("ad-autoplay", { ad: ctx.id, refused: String(error?.name || error) });
        player.muted(true);
        player.play()?.catch?.(() => {});
      });
    }
  }

  /** The media ended: end the ad now, or later if the SIMID creative extended it. */
  afterMedia(ctx) {
    if (ctx.ended) return;
    const extendTo = ctx.extendTo;
    const played = this.player.duration() || 0;
    if (ctx.host && !ctx.host.closing && extendTo !== null && extendTo > played) {
      ctx.waitingAfterMedia = true;
      clearTimeout(ctx.extensionTimer);
      const wait = extendTo === Infinity ? this.timeouts.maxExtension
        : Math.min((extendTo - played) * 1000, this.timeouts.maxExtension);
      this.record("ad-extended", { ad: ctx.id, until: extendTo === Infinity ? "requestStop" : extendTo });
      ctx.extensionTimer = setTimeout(() => this.finishAd(ctx, extendTo === Infinity ? "stopped" : "complete"), wait);
      return;
    }
    this.finishAd(ctx, "complete");
  }

  /**
   * Ends an ad once, whatever ended it. reason: "complete" | "skipped" | "stopped" | "error".
   * When the player ends it, the SIMID creative gets adStopped / adSkipped / fatalError;
   * when the creative ended it (byCreative), its host already runs that sequence.
   */
  finishAd(ctx, reason, { byCreative = false, simidCode, message } = {}) {
    if (ctx.ended) return;
    ctx.ended = true;
    for (const [type, fn] of ctx.listeners) this.player.off(type, fn);
    ctx.timers.forEach(clearTimeout);
    clearInterval(ctx.stallTimer);
    clearTimeout(ctx.extensionTimer);
    this.player.pause();
    const { tracker, host } = ctx;
    if (tracker && reason === "skipped") {
      tracker.skip();
      this.record("ad-skip", { ad: ctx.id, by: byCreative ? "creative" : "viewer" });
    } else if (tracker && reason === "stopped" && !ctx.completed) {
      tracker.close(); // closeLinear: the ad was closed before its media completed
    }
    if (host && !host.closing) {
      if (reason === "complete") host.end(StopCode.MEDIA_COMPLETE);
      else if (reason === "skipped") host.skip();
      else if (reason === "error") host.fatal(simidCode || PlayerError.UNSPECIFIED, message || "the ad failed");
      else host.end(StopCode.PLAYER_CLOSE); // "stopped" by the player (leaving the page, extension over)
    }
    this.record("ad-end", { ad: ctx.id, reason });
    if (this.current === ctx) this.current = null;
    ctx.done(reason);
  }

  /** Pings the ad's Error URLs once per ad, with code=<n> appended (see the top of the file). */
  reportAdError(ctx, code, extra = {}, message = "") {
    this.record("error", { code, where: "vast-error-url", ad: ctx.id, message, ...extra });
    if (ctx.errorReported) return;
    ctx.errorReported = true;
    const urls = (ctx.ad.errorURLTemplates || []).map((t) => appendQuery(typeof t === "string" ? t : t.url, { code, ...extra }));
    if (!urls.length) return;
    if (ctx.tracker) {
      ctx.tracker.trackURLs(urls, { ERRORCODE: String(code) }, { isCustomCode: code > 999 });
    } else {
      urls.forEach((url) => ping(fillMacros(url, { ...this.macros(), ERRORCODE: code })));
    }
  }

  // ---------------------------------------------------------------------- ad UI

  showAdUi(ctx) {
    if (!this.ui) {
      const label = Object.assign(document.createElement("span"), { className: "moviola-ad-label" });
      const more = Object.assign(document.createElement("button"), { type: "button", className: "moviola-ad-more", textContent: "Learn more" });
      const skip = Object.assign(document.createElement("button"), { type: "button", className: "moviola-ad-skip", textContent: "Skip ad" });
      const box = Object.assign(document.createElement("div"), { className: "moviola-ad-ui" });
      box.append(label, more, skip);
      more.addEventListener("click", () => this.viewerClick());
      skip.addEventListener("click", () => this.viewerSkip());
      this.player.el().append(box);
      this.ui = { box, label, more, skip };
    }
    const simid = Boolean(this.simidFile(ctx.creative));
    this.ui.box.hidden = false;
    // A SIMID creative owns the ad's surface: no player "Learn more", no player skip button.
    this.ui.more.hidden = simid || !ctx.creative.videoClickThroughURLTemplate?.url;
    this.ui.skip.hidden = true;
    ctx.skippable = !simid && Number.isFinite(ctx.creative.skipDelay) && ctx.creative.skipDelay >= 0;
    this.updateAdUi(ctx);
  }

  updateAdUi(ctx) {
    if (!this.ui || ctx.ended) return;
    const duration = this.player.duration();
    const left = Number.isFinite(duration) ? Math.max(0, Math.ceil(duration - this.player.currentTime())) : null;
    const which = ctx.count > 1 ? `Ad ${ctx.index + 1} of ${ctx.count}` : "Ad";
    this.ui.label.textContent = left === null ? which : `${which} · ${left}s`;
    if (ctx.skippable) {
      const wait = Math.ceil(ctx.creative.skipDelay - this.player.currentTime());
      this.ui.skip.hidden = false;
      this.ui.skip.disabled = wait > 0;
      this.ui.skip.textContent = wait > 0 ? `Skip in ${wait}s` : "Skip ad";
    }
  }

  hideAdUi() {
    if (this.ui) this.ui.box.hidden = true;
  }

  viewerClick() {
    const ctx = this.current;
    if (!ctx || ctx.ended || !ctx.tracker) return;
    const open = (url) => { if (url) window.open(url, "_blank", "noopener"); };
    ctx.tracker.once("clickthrough", open);
    ctx.tracker.click();
    this.record("ad-click", { ad: ctx.id, by: "viewer" });
    this.player.pause(); // the viewer left for the advertiser's page
  }

  viewerSkip() {
    const ctx = this.current;
    if (!ctx || ctx.ended || !ctx.skippable || this.player.currentTime() < ctx.creative.skipDelay) return;
    this.finishAd(ctx, "skipped");
  }

  // ------------------------------------------------------------------- helpers

  videoElement() {
    return this.player.el().querySelector("video");
  }

  /** Stops everything: the ad (its creative told "player close"), timers, the player. */
  dispose() {
    if (this.mode === "disposed") return;
    const ctx = this.current;
    if (ctx) {
      ctx.host?.dispose();
      this.finishAd(ctx, "stopped");
    }
    this.mode = "disposed";
    this.setState("disposed");
    for (const [type, fn] of this.contentListeners) this.player.off(type, fn);
    try {
      this.player.dispose();
    } catch { /* already gone with the page */ }
  }
}
