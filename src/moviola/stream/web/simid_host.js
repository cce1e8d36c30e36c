// simid_host.js — the player side of SIMID 1.2 (IAB Secure Interactive Media Interface
// Definition) for one linear ad: Moviola's own implementation, written from the protocol.
//
// What it does, in the order of an ad's life:
//   1. load(): creates a hidden, sandboxed, cross-origin iframe over the video and points
//      it at the VAST <InteractiveCreativeFile apiFramework="SIMID">. The sandbox has no
//      allow-same-origin, so the creative always runs in an opaque origin (event.origin is
//      "null"): a message is trusted only when event.source is this iframe's window and,
//      after createSession, when it carries this session's id.
//   2. The creative posts createSession → we resolve it and send SIMID:Player:init with
//      the environment and the creative data (VAST <AdParameters>, <ClickThrough>).
//      `ready` settles when the ad media may start: init resolved (or rejected), or a
//      timeout passed (no createSession: 1223; no reply to init: 1212). After a timeout
//      we keep listening: a late creative may still join while the media plays.
//   3. mediaStarted() (the runtime calls it at the ad's first frame) → SIMID:Player:startCreative;
//      the iframe becomes visible only on its resolve (no reply: 1213).
//   4. While the ad plays: SIMID:Media:* events are forwarded, SIMID:Player:resize is sent
//      when the player's box or fullscreen state changes, and every SIMID:Creative:*
//      message gets a resolve or a reject (spec error codes 1200-1223).
//   5. The end: end(code) → SIMID:Player:adStopped, skip() → SIMID:Player:adSkipped,
//      fatal() → SIMID:Player:fatalError; creative requests (requestSkip, requestStop,
//      fatalError) run the same sequence from the other side. Each hides the iframe first
//      and unloads it after the creative's resolve (or a short timeout).
//
// The host owns the iframe and the protocol only. The ad runtime (ads.js) owns the media and
// the VAST tracking; the two meet through `media` (an adapter over the player) and
// `delegate` (callbacks that stop the ad, ping trackers, report errors). Nothing here
// blocks the content: every wait has a timeout.
//
// Known deviations of the IAB reference player avoided here (see the research notes):
// messageIds start at 0; the spec's message names (requestFullscreen, requestChangeVolume);
// adStopped carries {code}; init carries environmentData.version and creativeData.clickThruUrl;
// the iframe is shown only after startCreative resolves; JSON.parse is guarded.

export const SIMID_VERSION = "1.2";

/** The sandbox of the creative's iframe (deliberately without allow-same-origin). */
export const SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox allow-forms";

/** Error codes the player reports (SIMID 1.2 § 9). */
export const PlayerError = Object.freeze({
  UNSPECIFIED: 1200,
  WRONG_VERSION: 1201,
  TOO_MUCH_TIME: 1202,
  UNSUPPORTED_FUNCTIONALITY: 1203,
  UNSUPPORTED_ACTION: 1204,
  CHANNEL_OVERLOADED: 1205,
  MEDIA_NOT_LOADED: 1206,
  MEDIA_TIMEOUT: 1207,
  SLOW_RESPONSES: 1208,
  MEDIA_UNSUPPORTED: 1209,
  SPEC_NOT_FOLLOWED_ON_INIT: 1210,
  SPEC_NOT_FOLLOWED_ON_MESSAGES: 1211,
  NO_INIT_REPLY: 1212,
  NO_START_REPLY: 1213,
  NAVIGATION_UNSUPPORTED: 1214,
  NAVIGATION_IMPOSSIBLE: 1215,
  TOO_MANY_NAVIGATIONS: 1216,
  INVALID_NAVIGATION_URL: 1217,
  EXTRA_CLICKTHROUGH: 1219,
  SESSION_NOT_CREATED: 1223,
});

/** SIMID:Player:adStopped codes (§ 4.3.2). */
export const StopCode = Object.freeze({
  UNSPECIFIED: 0,
  USER_CLOSE: 1,
  MEDIA_COMPLETE: 2,
  PLAYER_CLOSE: 3,
  CREATIVE_CLOSE: 4,
  NONLINEAR_DURATION_COMPLETE: 5,
});

/** Media element events forwarded as SIMID:Media:<event>. */
const MEDIA_EVENTS = ["durationchange", "ended", "error", "pause", "play", "playing",
  "seeked", "seeking", "stalled", "timeupdate", "volumechange"];

/** Names the IAB sample protocol file uses instead of the spec's; we reject them, with a hint. */
const NON_SPEC_NAMES = {
  "SIMID:Creative:requestFullScreen": "SIMID:Creative:requestFullscreen",
  "SIMID:Creative:requestExitFullScreen": "SIMID:Creative:requestExitFullscreen",
  "SIMID:Creative:requestVolume": "SIMID:Creative:requestChangeVolume",
};

const DEFAULT_TIMEOUTS = {
  createSession: 2000, // creative → createSession after the iframe is set up
  init: 2000,          // creative → resolve/reject of Player:init
  startCreative: 2000, // creative → resolve/reject of Player:startCreative (logged; reported at the end)
  end: 1000,           // creative → resolve of adStopped / adSkipped / fatalError before unloading
};

const MAX_NAVIGATIONS = 3;
const MAX_MESSAGE_CHARS = 64 * 1024; // larger messages are not SIMID traffic we accept

/** A reason to answer a creative's message with reject. */
class Rejection extends Error {
  constructor(errorCode, message) {
    super(message);
    this.errorCode = errorCode;
  }
}

function isHttpUrl(value) {
  if (typeof value !== "string" || value.length > 4096) return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class SimidHost {
  /**
   * @param {object} options
   * @param {HTMLElement} options.container  the player's box; the iframe covers it
   * @param {object} options.media           adapter over the ad's media (see ads.js: mediaAdapter)
   * @param {string} options.creativeUrl     the InteractiveCreativeFile URL
   * @param {{adParameters: string, clickThruUrl?: string}} options.creativeData
   * @param {object} [options.environment]   environmentData fields the runtime decides
   *                                         (skippableState, skipoffset, siteUrl, useragent, ...)
   * @param {object} [options.delegate]      callbacks into the ad runtime:
   *   log(entry), reportError(code, {simidCode, message}), trackUrls(urls),
   *   clickThrough(), interactiveStart(), endAd(reason) with reason "skipped" | "stopped" | "error",
   *   changeDuration(seconds) → boolean, openUrl(url)
   * @param {object} [options.timeouts]      milliseconds, see DEFAULT_TIMEOUTS
   */
  constructor({ container, media, creativeUrl, creativeData, environment = {}, delegate = {}, timeouts = {} }) {
    this.container = container;
    this.media = media;
    this.creativeUrl = creativeUrl;
    this.creativeData = { adParameters: String(creativeData?.adParameters ?? "") };
    if (creativeData?.clickThruUrl) this.creativeData.clickThruUrl = creativeData.clickThruUrl;
    this.environment = environment;
    this.delegate = delegate;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };

    this.iframe = null;
    this.sessionId = null;
    this.nextMessageId = 0;     // our own counter; the spec starts it at 0
    this.pending = new Map();   // our messageId → {type, settle}
    this.timers = new Set();

    // Where the handshake stands.
    this.initResolved = false;  // the creative accepted Player:init: we may post to it
    this.initAnswered = false;  // resolve or reject arrived
    this.mediaIsPlaying = false;
    this.startSent = false;
    this.startAnswered = false;
    this.visible = false;
    this.closing = false;       // an end sequence began: no more Media/Player posts but its own
    this.closed = false;
    this.clickReported = false;
    this.navigations = 0;

    this.readySettled = false;
    this.ready = new Promise((resolve) => { this.resolveReady = resolve; });
    this.onMessage = this.onMessage.bind(this);
    this.onFullscreenChange = () => this.sendResize();
    this.mediaListeners = [];
  }

  // ---------------------------------------------------------------- lifecycle

  /** Creates the hidden iframe and starts waiting for createSession. Returns `ready`. */
  load() {
    window.addEventListener("message", this.onMessage);
    const iframe = document.createElement("iframe");
    iframe.className = "simid-creative";
    iframe.setAttribute("sandbox", SANDBOX);
    iframe.setAttribute("title", "Interactive ad");
    iframe.setAttribute("aria-hidden", "true");
    iframe.tabIndex = -1;
    // Styles through the CSSOM (the page's CSP allows it; style attributes it would not).
    Object.assign(iframe.style, {
      position: "absolute", left: "0", top: "0", width: "100%", height: "100%",
      border: "0", margin: "0", padding: "0", zIndex: "3", background: "transparent",
      // Chromium paints an opaque backdrop when the embedder's color-scheme (dark on our
      // page) differs from the creative's; "normal" keeps a plain creative transparent.
      colorScheme: "normal",
      visibility: "hidden", // hidden, but laid out and running, until startCreative resolves
    });
    this.iframe = iframe;
    this.container.append(iframe);
    iframe.src = this.creativeUrl; // after the listener is in place (§ 6.1)
    this.log("simid", { event: "iframe-created", url: this.creativeUrl, visible: false });

    this.later(this.timeouts.createSession, () => {
      if (this.sessionId || this.closing) return;
      // § 8.4.2: play the ad media without the overlay, keep listening, report at the end.
      this.log("error", { code: PlayerError.SESSION_NOT_CREATED, where: "simid",
        message: `no createSession within ${this.timeouts.createSession} ms; the ad plays without its overlay` });
      this.settleReady({ overlay: false, reason: "no-session" });
    });
    for (const type of MEDIA_EVENTS) {
      const listener = () => this.forwardMediaEvent(type);
      this.media.on(type, listener);
      this.mediaListeners.push([type, listener]);
    }
    document.addEventListener("fullscreenchange", this.onFullscreenChange);
    if (window.ResizeObserver) {
      let first = true; // the observer reports the initial size once; that is no resize
      this.resizeObserver = new ResizeObserver(() => { if (first) first = false; else this.sendResize(); });
      this.resizeObserver.observe(this.container);
    }
    return this.ready;
  }

  /** The ad media showed its first frame: start the creative if it is ready (§ 6.3, § 6.4). */
  mediaStarted() {
    this.mediaIsPlaying = true;
    if (this.initResolved) this.sendStartCreative();
  }

  /** The player ends the ad (media complete: code 2; player close: 3; ...). */
  end(code = StopCode.MEDIA_COMPLETE) {
    return this.finish("SIMID:Player:adStopped", { code });
  }

  /** The player skipped the ad (its own skip control). */
  skip() {
    return this.finish("SIMID:Player:adSkipped", {});
  }

  /** The player cannot go on with the ad (for instance its media failed). */
  fatal(errorCode, errorMessage) {
    return this.finish("SIMID:Player:fatalError", { errorCode, errorMessage: String(errorMessage || "") });
  }

  /** Removes everything at once, without a goodbye (page navigation, runtime disposal). */
  dispose() {
    this.closing = true;
    this.unload("disposed");
  }

  // --------------------------------------------------------------- messaging

  onMessage(event) {
    if (!this.iframe || event.source !== this.iframe.contentWindow) return; // not our creative
    if (typeof event.data !== "string" || event.data.length > MAX_MESSAGE_CHARS) {
      this.log("simid", { event: "ignored", why: "not a JSON string" });
      return;
    }
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      this.log("simid", { event: "ignored", why: "not JSON" });
      return;
    }
    if (!message || typeof message !== "object" || typeof message.type !== "string") {
      this.log("simid", { event: "ignored", why: "no message type" });
      return;
    }
    if (message.type === "createSession") {
      this.onCreateSession(message);
      return;
    }
    if (!this.sessionId || message.sessionId !== this.sessionId) {
      this.log("simid", { event: "ignored", why: "unknown session", type: message.type });
      return;
    }
    this.log("simid-received", { type: message.type, messageId: message.messageId,
      replyTo: message.args?.messageId });
    if (message.type === "resolve" || message.type === "reject") {
      const waiting = this.pending.get(message.args?.messageId);
      if (waiting) {
        this.pending.delete(message.args.messageId);
        waiting.settle({ ok: message.type === "resolve", value: message.args?.value });
      }
      return;
    }
    this.handleCreativeMessage(message);
  }

  onCreateSession(message) {
    const id = message.sessionId;
    if (typeof id !== "string" || !id || id.length > 256) {
      this.log("simid", { event: "ignored", why: "createSession without a usable sessionId" });
      return;
    }
    if (this.sessionId) {
      this.log("simid", { event: "ignored", why: "a second createSession" });
      return;
    }
    if (this.closed) return;
    this.sessionId = id;
    this.log("simid-received", { type: "createSession", messageId: message.messageId, late: this.readySettled });
    this.post("resolve", { messageId: message.messageId, value: {} });
    if (this.closing) return;
    this.sendInit();
  }

  sendInit() {
    const args = { environmentData: this.environmentData(), creativeData: this.creativeData };
    this.request("SIMID:Player:init", args).then(({ ok, value }) => {
      this.initAnswered = true;
      if (this.closing) return;
      if (ok) {
        this.initResolved = true;
        this.settleReady({ overlay: true });
        if (this.mediaIsPlaying) this.sendStartCreative(); // the media did not wait for us (§ 6.4)
      } else {
        // § 6.6: the ad media goes on; the creative is unloaded and its code reported.
        const code = Number(value?.errorCode) || 1100;
        this.log("error", { code, where: "simid", message: `the creative rejected init: ${value?.reason || value?.message || ""}` });
        this.delegate.reportError?.(code, { message: "SIMID init rejected" });
        this.closing = true;
        this.settleReady({ overlay: false, reason: "init-rejected" });
        this.unload("init rejected");
      }
    });
    this.later(this.timeouts.init, () => {
      if (this.initAnswered || this.closing) return;
      this.log("error", { code: PlayerError.NO_INIT_REPLY, where: "simid",
        message: `no reply to Player:init within ${this.timeouts.init} ms; the ad plays without its overlay` });
      this.settleReady({ overlay: false, reason: "no-init-reply" });
    });
  }

  sendStartCreative() {
    if (this.startSent || this.closing) return;
    this.startSent = true;
    this.request("SIMID:Player:startCreative", {}).then(({ ok, value }) => {
      this.startAnswered = true;
      if (this.closing) return;
      if (ok) {
        this.show();
        this.delegate.interactiveStart?.();
      } else {
        // § 4.3.10.2: unload, report the creative's code; the media goes on.
        const code = Number(value?.errorCode) || 1100;
        this.log("error", { code, where: "simid", message: `the creative rejected startCreative: ${value?.reason || value?.message || ""}` });
        this.delegate.reportError?.(code, { message: "SIMID startCreative rejected" });
        this.closing = true;
        this.unload("startCreative rejected");
      }
    });
    this.later(this.timeouts.startCreative, () => {
      if (this.startAnswered || this.closing) return;
      this.log("error", { code: PlayerError.NO_START_REPLY, where: "simid",
        message: `no reply to Player:startCreative within ${this.timeouts.startCreative} ms (still waiting)` });
    });
  }

  /** Posts a message that expects resolve/reject; the promise settles only with the reply. */
  request(type, args) {
    return new Promise((settle) => {
      const messageId = this.post(type, args);
      if (messageId !== null) this.pending.set(messageId, { type, settle });
    });
  }

  /** Posts one message to the creative; returns its messageId (null when it cannot). */
  post(type, args) {
    const target = this.iframe?.contentWindow;
    if (!target || !this.sessionId) return null;
    const messageId = this.nextMessageId++;
    const message = { sessionId: this.sessionId, messageId, timestamp: Date.now(), type, args };
    // The iframe's origin is opaque ("null"), so no targetOrigin can name it: '*' is the
    // only value that delivers. The sandbox, not the origin, keeps the creative contained.
    target.postMessage(JSON.stringify(message), "*");
    if (type !== "SIMID:Media:timeupdate") { // timeupdate would flood the log
      const entry = { type, messageId };
      if (type === "resolve" || type === "reject") {
        entry.replyTo = args.messageId;
        if (args.value?.errorCode) entry.code = args.value.errorCode;
      } else if (type.startsWith("SIMID:Player:")) {
        entry.args = args;
      }
      this.log("simid-sent", entry);
    }
    return messageId;
  }

  reply(message, ok, value) {
    this.post(ok ? "resolve" : "reject", { messageId: message.messageId, value });
  }

  forwardMediaEvent(type) {
    if (!this.initResolved || this.closing) return; // § 6.5: nothing before init resolves
    const m = this.media;
    let args = {};
    if (type === "durationchange") args = { duration: m.duration() };
    else if (type === "timeupdate") args = { currentTime: m.currentTime() };
    else if (type === "volumechange") args = { volume: m.volume(), muted: m.muted() };
    else if (type === "error") {
      const error = m.error();
      args = { error: String(error?.code ?? ""), message: String(error?.message ?? "media error") };
    }
    this.post(`SIMID:Media:${type}`, args);
  }

  sendResize() {
    if (!this.initResolved || this.closing) return;
    const box = this.dimensions();
    this.post("SIMID:Player:resize", { videoDimensions: box, creativeDimensions: box,
      fullscreen: this.media.isFullscreen() });
  }

  // ------------------------------------------------------ the creative's messages

  async handleCreativeMessage(message) {
    const handler = this.handlers()[message.type];
    let outcome;
    try {
      if (!handler) throw this.unknownMessage(message.type);
      if (this.closing && !ALLOWED_WHILE_CLOSING.has(message.type)) {
        throw new Rejection(PlayerError.UNSUPPORTED_ACTION, "the ad is ending");
      }
      outcome = (await handler(message.args ?? {}, message)) || {};
    } catch (error) {
      const code = error instanceof Rejection ? error.errorCode : PlayerError.UNSPECIFIED;
      this.log("simid", { event: "rejected", type: message.type, code, why: error.message });
      this.reply(message, false, { errorCode: code, message: error.message });
      return;
    }
    this.reply(message, true, outcome.value ?? {});
    outcome.after?.();
  }

  unknownMessage(type) {
    const specName = NON_SPEC_NAMES[type];
    if (specName && this.initResolved) {
      this.post("SIMID:Player:log", { message: `WARNING: ${type} is not a SIMID 1.2 message; the spec names it ${specName}` });
    }
    // Before init resolved the creative breaks the initialisation rules (1210); after, it
    // asks for an action this player does not have (1204).
    return this.initResolved
      ? new Rejection(PlayerError.UNSUPPORTED_ACTION, `unsupported message ${type}`)
      : new Rejection(PlayerError.SPEC_NOT_FOLLOWED_ON_INIT, `unexpected message ${type} before init resolved`);
  }

  /** type → handler(args, message) returning {value?, after?} or throwing a Rejection. */
  handlers() {
    const env = this.environmentData();
    const m = this.media;
    return {
      "SIMID:Creative:clickThru": (args) => {
        if (this.clickReported) {
          throw new Rejection(PlayerError.EXTRA_CLICKTHROUGH, "a clickthrough was already reported");
        }
        let url = null;
        if (args.playerHandles === true) {
          url = args.url || this.creativeData.clickThruUrl;
          if (!isHttpUrl(url)) throw new Rejection(PlayerError.NAVIGATION_UNSUPPORTED, "no valid landing page URL");
        }
        this.clickReported = true;
        this.delegate.clickThrough?.();
        // § 4.4.1.1: resolve first, then open the landing page.
        return { after: url ? () => this.navigate(url) : undefined };
      },
      "SIMID:Creative:fatalError": (args) => ({
        after: () => this.creativeFailed(Number(args.errorCode) || 1100, args.errorMessage),
      }),
      "SIMID:Creative:getMediaState": () => ({ value: {
        currentSrc: m.currentSrc(), currentTime: m.currentTime(), duration: m.duration(),
        ended: m.ended(), muted: m.muted(), paused: m.paused(), volume: m.volume(),
        fullscreen: m.isFullscreen(),
      } }),
      "SIMID:Creative:log": (args) => {
        const text = String(args.message ?? "").slice(0, 8000);
        this.log("simid-log", { message: text });
        if (text.startsWith("WARNING:")) console.warn("SIMID creative:", text);
        return {};
      },
      "SIMID:Creative:reportTracking": (args) => {
        if (!Array.isArray(args.trackingUrls)) {
          throw new Rejection(PlayerError.SPEC_NOT_FOLLOWED_ON_MESSAGES, "trackingUrls is not an array");
        }
        const urls = [...new Set(args.trackingUrls.filter(isHttpUrl))]; // each URL once
        if (!urls.length) throw new Rejection(PlayerError.SPEC_NOT_FOLLOWED_ON_MESSAGES, "no valid tracking URL");
        this.delegate.trackUrls?.(urls);
        return {};
      },
      "SIMID:Creative:requestChangeAdDuration": (args) => {
        if (!env.variableDurationAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "variable duration is not allowed");
        const duration = Number(args.duration); // the IAB sample sends a string: accept a numeric one
        if (!Number.isFinite(duration) || (duration <= 0 && duration !== -2)) {
          throw new Rejection(PlayerError.SPEC_NOT_FOLLOWED_ON_MESSAGES, "duration must be seconds > 0 or -2");
        }
        if (!this.delegate.changeDuration?.(duration)) {
          throw new Rejection(PlayerError.TOO_MUCH_TIME, "the player does not accept this duration");
        }
        return {};
      },
      "SIMID:Creative:requestChangeVolume": async (args) => {
        const volume = Number(args.volume);
        if (!Number.isFinite(volume) || volume < 0 || volume > 1 || typeof args.muted !== "boolean") {
          throw new Rejection(PlayerError.SPEC_NOT_FOLLOWED_ON_MESSAGES, "volume must be 0..1 and muted a boolean");
        }
        m.setVolume(volume);
        m.setMuted(args.muted);
        return {};
      },
      "SIMID:Creative:requestFullscreen": async () => {
        if (!env.fullscreenAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "fullscreen is not allowed");
        if (m.isFullscreen()) throw new Rejection(PlayerError.UNSPECIFIED, "already fullscreen");
        try {
          await m.requestFullscreen();
        } catch (error) { // browsers refuse without a user gesture on the page itself
          throw new Rejection(PlayerError.UNSPECIFIED, `fullscreen refused: ${error?.message || error}`);
        }
        return {};
      },
      "SIMID:Creative:requestExitFullscreen": async () => {
        if (!env.fullscreenAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "fullscreen is not allowed");
        if (!m.isFullscreen()) throw new Rejection(PlayerError.UNSPECIFIED, "not fullscreen");
        try {
          await m.exitFullscreen();
        } catch (error) {
          throw new Rejection(PlayerError.UNSPECIFIED, `could not leave fullscreen: ${error?.message || error}`);
        }
        return {};
      },
      "SIMID:Creative:requestNavigation": (args) => {
        if (!isHttpUrl(args.uri)) throw new Rejection(PlayerError.INVALID_NAVIGATION_URL, "uri must be an http(s) URL");
        if (this.navigations >= MAX_NAVIGATIONS) throw new Rejection(PlayerError.TOO_MANY_NAVIGATIONS, "too many navigations");
        this.navigations += 1;
        return { after: () => this.navigate(args.uri) }; // § 4.4.12.1: resolve before opening
      },
      "SIMID:Creative:requestPause": () => {
        if (!env.variableDurationAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "the player cannot pause ads");
        if (m.paused() || m.ended()) throw new Rejection(PlayerError.UNSPECIFIED, "the media is already paused");
        m.pause();
        return {};
      },
      "SIMID:Creative:requestPlay": async () => {
        if (!env.variableDurationAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "the player cannot pause ads");
        if (m.ended()) throw new Rejection(PlayerError.UNSPECIFIED, "the media has ended");
        if (!m.paused()) throw new Rejection(PlayerError.UNSPECIFIED, "the media is already playing");
        try {
          await m.play();
        } catch (error) {
          throw new Rejection(PlayerError.UNSPECIFIED, `play refused: ${error?.message || error}`);
        }
        return {};
      },
      "SIMID:Creative:requestResize": () => {
        // We cannot set the media and the iframe to arbitrary boxes (§ 4.4.15): decline.
        throw new Rejection(PlayerError.UNSUPPORTED_ACTION, "this player does not resize ads");
      },
      "SIMID:Creative:requestSkip": () => {
        if (env.skippableState !== "adHandles") {
          throw new Rejection(PlayerError.UNSUPPORTED_ACTION, `skippableState is ${env.skippableState}`);
        }
        return this.creativeEnds("skipped", "SIMID:Player:adSkipped", {});
      },
      "SIMID:Creative:requestStop": () => {
        if (!env.variableDurationAllowed) throw new Rejection(PlayerError.UNSUPPORTED_FUNCTIONALITY, "the player cannot stop ads early");
        return this.creativeEnds("stopped", "SIMID:Player:adStopped", { code: StopCode.CREATIVE_CLOSE });
      },
      "SIMID:Creative:expandNonlinear": () => {
        throw new Rejection(PlayerError.UNSUPPORTED_ACTION, "a linear ad cannot expand");
      },
      "SIMID:Creative:collapseNonlinear": () => {
        throw new Rejection(PlayerError.UNSUPPORTED_ACTION, "a linear ad cannot collapse");
      },
    };
  }

  /** requestSkip / requestStop: hide, stop the media, resolve, then adSkipped / adStopped. */
  creativeEnds(reason, goodbye, args) {
    this.closing = true;
    this.hide();
    this.delegate.endAd?.(reason); // the runtime stops the media and moves on
    return { after: () => this.goodbye(goodbye, args) };
  }

  /** Creative:fatalError: unload, report VAST error 902 (with the creative's code), end the ad. */
  creativeFailed(simidCode, message) {
    if (this.closed) return;
    this.closing = true;
    this.hide();
    this.log("error", { code: 902, simidCode, where: "simid", message: `creative fatalError: ${message || ""}` });
    this.delegate.reportError?.(902, { simidCode, message: String(message || "") });
    this.delegate.endAd?.("error");
    this.unload("creative fatalError");
  }

  // ------------------------------------------------------------------ endings

  /** A player-initiated end: report what never happened, say goodbye, unload. */
  finish(type, args) {
    if (this.closing) return this.closedPromise || Promise.resolve();
    this.closing = true;
    this.hide();
    if (!this.sessionId) {
      this.log("error", { code: PlayerError.SESSION_NOT_CREATED, where: "simid", message: "the creative never created a session" });
      this.delegate.reportError?.(PlayerError.SESSION_NOT_CREATED, { message: "SIMID session not created" });
    } else if (!this.initAnswered) {
      this.delegate.reportError?.(PlayerError.NO_INIT_REPLY, { message: "no reply to SIMID init" });
    } else if (this.startSent && !this.startAnswered) {
      this.delegate.reportError?.(PlayerError.NO_START_REPLY, { message: "no reply to SIMID startCreative" });
    }
    this.closedPromise = this.initResolved ? this.goodbye(type, args) : Promise.resolve(this.unload(type));
    return this.closedPromise;
  }

  /** Sends the last message, waits (briefly) for its resolve, unloads. */
  async goodbye(type, args) {
    const answer = await Promise.race([this.request(type, args), sleep(this.timeouts.end).then(() => null)]);
    if (!answer) this.log("simid", { event: "no-reply", type, after: this.timeouts.end });
    this.unload(type);
  }

  show() {
    if (!this.iframe || this.closing) return;
    this.iframe.style.visibility = "visible";
    this.iframe.removeAttribute("aria-hidden");
    this.iframe.tabIndex = 0;
    this.visible = true;
    this.log("simid", { event: "visible" });
  }

  hide() {
    if (!this.iframe) return;
    this.iframe.style.visibility = "hidden";
    this.iframe.setAttribute("aria-hidden", "true");
    if (this.visible) this.log("simid", { event: "hidden" });
    this.visible = false;
  }

  unload(why) {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    window.removeEventListener("message", this.onMessage);
    document.removeEventListener("fullscreenchange", this.onFullscreenChange);
    this.resizeObserver?.disconnect();
    for (const [type, listener] of this.mediaListeners) this.media.off(type, listener);
    this.mediaListeners = [];
    this.iframe?.remove();
    this.iframe = null;
    this.settleReady({ overlay: false, reason: "unloaded" });
    this.log("simid", { event: "unloaded", why });
  }

  // ----------------------------------------------------------------- helpers

  navigate(url) {
    this.media.pause(); // the viewer leaves: the ad waits (§ 4.4.1)
    this.delegate.openUrl ? this.delegate.openUrl(url) : window.open(url, "_blank", "noopener");
  }

  /** environmentData of Player:init (§ 4.3.7): runtime-supplied fields over our defaults. */
  environmentData() {
    const box = this.dimensions();
    return {
      videoDimensions: box,
      creativeDimensions: box,
      fullscreen: this.media.isFullscreen(),
      fullscreenAllowed: Boolean(document.fullscreenEnabled),
      variableDurationAllowed: true,
      skippableState: "adHandles",
      version: SIMID_VERSION,
      siteUrl: location.origin + location.pathname, // no query: it may name the member
      useragent: navigator.userAgent,
      muted: this.media.muted(),
      volume: this.media.volume(),
      navigationSupport: "adHandles",   // web: the creative opens its own windows
      closeButtonSupport: "adHandles",  // the player draws no close button
      ...this.environment,
    };
  }

  /** The box the video and the iframe share, in the player's coordinates (-1 if unknown). */
  dimensions() {
    const rect = this.container?.getBoundingClientRect?.();
    if (!rect || !rect.width) return { x: 0, y: 0, width: -1, height: -1 };
    return { x: 0, y: 0, width: Math.round(rect.width), height: Math.round(rect.height) };
  }

  /** Settles `ready` once: {overlay: true} when the creative is initialised, else why not. */
  settleReady(value) {
    if (this.readySettled) return;
    this.readySettled = true;
    this.resolveReady(value);
  }

  later(ms, fn) {
    const timer = setTimeout(() => { this.timers.delete(timer); fn(); }, ms);
    this.timers.add(timer);
  }

  log(kind, detail) {
    this.delegate.log?.(kind, detail);
  }
}

/** Creative messages still answered normally while the ad ends (§ 6.9: tracking on the way out). */
const ALLOWED_WHILE_CLOSING = new Set(["SIMID:Creative:reportTracking", "SIMID:Creative:log",
  "SIMID:Creative:getMediaState"]);
