/*
 * Moviola's SIMID 1.2 interactive overlay: the creative side of the protocol, written for
 * Moviola (Apache-2.0), not derived from the IAB samples.
 *
 * Protocol, as this file implements it:
 * - The player loads overlay.html in a hidden, sandboxed, cross-origin iframe (we expect an
 *   opaque origin: no cookies, no localStorage; nothing here uses either). Every message is
 *   JSON text {sessionId, messageId, timestamp, type, args} posted to window.parent with
 *   targetOrigin '*' (an opaque origin cannot be named). Incoming messages are accepted only
 *   from window.parent and only with our sessionId; anything else is ignored.
 * - On load the creative makes a random sessionId (crypto.randomUUID, else getRandomValues)
 *   and posts createSession (messageId 0; each message it sends counts up by one). Replies
 *   to its own requests (resolve/reject) are matched by args.messageId.
 * - SIMID:Player:init: resolved once the configuration is read. Rejected with 1103 when
 *   environmentData.version is not 1.x, with 1110 when init lacks environmentData or
 *   creativeData (or comes twice), and with 1101 ("resources could not be loaded") when
 *   creativeData.adParameters is missing or malformed: the configuration is the one
 *   resource this creative needs, and rejecting init (spec 6.6) lets the player unload us
 *   and play the video alone before anything is shown. We never send Creative:fatalError
 *   for it: that is for failures after the start.
 * - SIMID:Player:startCreative: resolved, and only then does the panel show (the player
 *   makes the iframe visible on the resolve). Rejected with the init error if init failed,
 *   with 1110 if init never came.
 * - adSkipped, adStopped, fatalError: the panel hides, then resolve. appBackgrounded:
 *   resolve. resize: the panel follows the video's rectangle. log, appForegrounded,
 *   collapseNonlinear and SIMID:Media:* are information only.
 * - The viewer's action (add to my list, or a poll answer) is reported once, with
 *   SIMID:Creative:reportTracking {trackingUrls: [track.interaction + "&v=" + choice]}
 *   ("?v=" if the URL has no query yet), and a confirmation shows at once.
 * - "Watch now" (only with creativeData.clickThruUrl, and not when navigationSupport is
 *   "notSupported") posts SIMID:Creative:clickThru {x, y, playerHandles, url}. The spec lets
 *   a creative ask the player to open the page only where the player handles navigation,
 *   so with navigationSupport "adHandles" the creative opens the page itself and sends
 *   playerHandles: false; otherwise playerHandles: true. If the player rejects it, the
 *   creative opens the page itself. A second click is not another click-through: it asks
 *   for navigation (Creative:requestNavigation) instead.
 * - Skipping: when the player hands it to the ad (skippableState "adHandles", spec 4.3.7)
 *   and gives a skipoffset, a "Skip ad" button counts down from Media:timeupdate and then
 *   posts Creative:requestSkip. Otherwise the player owns skipping and we draw nothing.
 */
(function () {
  'use strict';

  var SIMID_MAJOR = '1.';
  // Kept equal to the limits in moviola/ads/_overlay.py.
  var LIMITS = { label: 80, question: 140, answer: 40, minAnswers: 2, maxAnswers: 4, confirmation: 80 };
  var ErrorCode = {
    UNSPECIFIED: 1100,
    RESOURCES_NOT_LOADED: 1101,
    WRONG_VERSION: 1103,
    INTERNAL: 1108,
    PLAYER_NOT_FOLLOWING_SPEC: 1110
  };

  var session = { id: newSessionId(), nextId: 0, pending: {} };
  var state = {
    phase: 'new', // new -> ready -> started -> ended; or failed
    failure: null, // {code, reason} when init was rejected
    config: null,
    env: {},
    creativeData: {},
    acted: false,
    clicked: false,
    clickUrl: null,
    skipAt: null, // seconds into the ad when the viewer may skip (we draw the button)
    skipping: false,
    media: { currentTime: -1, duration: -1, paused: true }
  };
  var ui = {
    stage: document.getElementById('stage'),
    question: document.getElementById('question'),
    choices: document.getElementById('choices'),
    status: document.getElementById('status'),
    watch: document.getElementById('watch'),
    skip: document.getElementById('skip')
  };

  // ---------------------------------------------------------------- session and messages

  function newSessionId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; // an RFC 4122 version 4 UUID
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  function post(type, args) {
    var message = {
      sessionId: session.id,
      messageId: session.nextId++,
      timestamp: Date.now(),
      type: type,
      args: args === undefined ? {} : args
    };
    window.parent.postMessage(JSON.stringify(message), '*');
    return message.messageId;
  }

  function request(type, args) {
    return new Promise(function (resolve, reject) {
      var id = post(type, args);
      session.pending[id] = { resolve: resolve, reject: reject };
    });
  }

  function resolveMessage(incoming, value) {
    post('resolve', { messageId: incoming.messageId, value: value === undefined ? {} : value });
  }

  function rejectMessage(incoming, errorCode, reason) {
    // Player:init and startCreative name the text "reason" (spec 4.3.7.2, 4.3.10.2); the
    // generic reject names it "message" (8.2.2). Both carry the same words.
    post('reject', { messageId: incoming.messageId, value: { errorCode: errorCode, reason: reason, message: reason } });
  }

  function log(text) {
    post('SIMID:Creative:log', { message: text });
  }

  window.addEventListener('message', function (event) {
    if (event.source !== window.parent || window.parent === window) return;
    if (typeof event.data !== 'string') return;
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return; // not SIMID
    }
    if (!message || typeof message !== 'object' || message.sessionId !== session.id ||
        typeof message.type !== 'string') return;
    try {
      dispatch(message);
    } catch (e) {
      // A bug of ours must not leave the player waiting for an answer.
      if (needsAnswer(message.type)) rejectMessage(message, ErrorCode.INTERNAL, String(e && e.message || e));
    }
  });

  function needsAnswer(type) {
    return ['SIMID:Player:init', 'SIMID:Player:startCreative', 'SIMID:Player:adSkipped',
      'SIMID:Player:adStopped', 'SIMID:Player:fatalError', 'SIMID:Player:appBackgrounded'].indexOf(type) >= 0;
  }

  function dispatch(message) {
    var args = message.args && typeof message.args === 'object' ? message.args : {};
    switch (message.type) {
      case 'resolve':
      case 'reject': {
        var waiting = session.pending[args.messageId];
        if (!waiting) return;
        delete session.pending[args.messageId];
        (message.type === 'resolve' ? waiting.resolve : waiting.reject)(args.value);
        return;
      }
      case 'SIMID:Player:init': return onInit(message, args);
      case 'SIMID:Player:startCreative': return onStart(message);
      case 'SIMID:Player:adSkipped':
      case 'SIMID:Player:adStopped':
      case 'SIMID:Player:fatalError':
        end();
        return resolveMessage(message);
      case 'SIMID:Player:appBackgrounded': return resolveMessage(message);
      case 'SIMID:Player:resize':
        state.env.videoDimensions = args.videoDimensions || args.mediaDimensions || state.env.videoDimensions;
        state.env.creativeDimensions = args.creativeDimensions || state.env.creativeDimensions;
        return place();
      case 'SIMID:Media:timeupdate':
        state.media.currentTime = Number(args.currentTime);
        return updateSkip();
      case 'SIMID:Media:durationchange':
        state.media.duration = Number(args.duration);
        return;
      case 'SIMID:Media:play':
      case 'SIMID:Media:playing':
        state.media.paused = false;
        return;
      case 'SIMID:Media:pause':
      case 'SIMID:Media:ended':
        state.media.paused = true;
        return;
      default:
        return; // information only (Player:log, appForegrounded, other Media:* events)
    }
  }

  // ------------------------------------------------------------------------ lifecycle

  function fail(message, code, reason) {
    state.phase = 'failed';
    state.failure = { code: code, reason: reason };
    rejectMessage(message, code, reason);
  }

  function onInit(message, args) {
    if (state.phase !== 'new') {
      return rejectMessage(message, ErrorCode.PLAYER_NOT_FOLLOWING_SPEC, 'Player:init was already received');
    }
    var env = args.environmentData;
    var data = args.creativeData;
    if (!env || typeof env !== 'object' || !data || typeof data !== 'object') {
      return fail(message, ErrorCode.PLAYER_NOT_FOLLOWING_SPEC, 'Player:init needs environmentData and creativeData');
    }
    var version = typeof env.version === 'string' ? env.version : '';
    if (version.indexOf(SIMID_MAJOR) !== 0) {
      return fail(message, ErrorCode.WRONG_VERSION,
        'this creative implements SIMID 1.x; the player offers version ' + JSON.stringify(env.version === undefined ? null : env.version));
    }
    var config;
    try {
      config = readConfig(data.adParameters);
    } catch (e) {
      return fail(message, ErrorCode.RESOURCES_NOT_LOADED, 'adParameters: ' + e.message);
    }
    state.env = env;
    state.creativeData = data;
    state.config = config;
    build(config, data.clickThruUrl, env.navigationSupport);
    state.skipAt = env.skippableState === 'adHandles' ? seconds(env.skipoffset) : null;
    place();
    state.phase = 'ready';
    resolveMessage(message);
  }

  function onStart(message) {
    if (state.phase === 'failed') return rejectMessage(message, state.failure.code, state.failure.reason);
    if (state.phase !== 'ready') {
      return rejectMessage(message, ErrorCode.PLAYER_NOT_FOLLOWING_SPEC,
        state.phase === 'new' ? 'startCreative before Player:init' : 'startCreative was already received');
    }
    resolveMessage(message);
    state.phase = 'started';
    ui.stage.hidden = false; // the player shows the iframe once it has the resolve
    updateSkip();
  }

  // "HH:MM:SS" or "HH:MM:SS.mmm" (VAST skipoffset) as seconds; null if absent or malformed.
  function seconds(offset) {
    var m = /^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(typeof offset === 'string' ? offset.trim() : '');
    return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
  }

  function updateSkip() {
    if (state.skipAt === null || state.phase !== 'started' || state.skipping) return;
    var left = Math.ceil(state.skipAt - Math.max(0, state.media.currentTime));
    ui.skip.hidden = false;
    if (left > 0) {
      ui.skip.textContent = 'Skip in ' + left;
      ui.skip.setAttribute('aria-disabled', 'true');
    } else if (ui.skip.getAttribute('aria-disabled') !== 'false') {
      ui.skip.textContent = 'Skip ad \u25B8';
      ui.skip.setAttribute('aria-disabled', 'false');
    }
  }

  ui.skip.addEventListener('click', function () {
    if (state.phase !== 'started' || ui.skip.getAttribute('aria-disabled') !== 'false') return;
    state.skipping = true;
    ui.skip.setAttribute('aria-disabled', 'true');
    request('SIMID:Creative:requestSkip', {}).then(null, function () {
      state.skipping = false; // refused: the viewer may try again
      ui.skip.setAttribute('aria-disabled', 'false');
    });
  });

  function end() {
    state.phase = 'ended';
    ui.stage.hidden = true;
  }

  // -------------------------------------------------------------------- configuration

  function text(value, what, limit) {
    if (typeof value !== 'string') throw new Error(what + ' must be a string');
    var clean = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
    if (!clean) throw new Error(what + ' is empty');
    if (clean.length > limit) throw new Error(what + ' is longer than ' + limit + ' characters');
    return clean;
  }

  function httpUrl(value, what) {
    if (typeof value !== 'string') throw new Error(what + ' must be a URL');
    var url;
    try {
      url = new URL(value);
    } catch (e) {
      throw new Error(what + ' is not a URL: ' + JSON.stringify(value));
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(what + ' must be http(s)');
    return value;
  }

  function readConfig(adParameters) {
    if (typeof adParameters !== 'string' || !adParameters.trim()) throw new Error('missing (the VAST <AdParameters> is empty)');
    var raw;
    try {
      raw = JSON.parse(adParameters);
    } catch (e) {
      throw new Error('not JSON (' + e.message + ')');
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
    var config = { kind: raw.kind, interaction: null };
    if (raw.track !== undefined && raw.track !== null) {
      if (typeof raw.track !== 'object') throw new Error('track must be an object');
      if (raw.track.interaction !== undefined && raw.track.interaction !== null) {
        config.interaction = httpUrl(raw.track.interaction, 'track.interaction');
      }
    }
    if (raw.kind === 'add_to_list') {
      config.label = text(raw.label, 'label', LIMITS.label);
      config.confirmation = raw.confirmation === undefined ? 'Added to my list \u2713'
        : text(raw.confirmation, 'confirmation', LIMITS.confirmation);
    } else if (raw.kind === 'poll') {
      config.question = text(raw.question, 'question', LIMITS.question);
      if (!Array.isArray(raw.answers)) throw new Error('answers must be a list');
      if (raw.answers.length < LIMITS.minAnswers || raw.answers.length > LIMITS.maxAnswers) {
        throw new Error('a poll needs ' + LIMITS.minAnswers + ' to ' + LIMITS.maxAnswers + ' answers');
      }
      config.answers = raw.answers.map(function (a, i) { return text(a, 'answer ' + (i + 1), LIMITS.answer); });
      var seen = {};
      config.answers.forEach(function (a) {
        var key = a.toLowerCase();
        if (seen[key]) throw new Error('answers repeat: ' + a);
        seen[key] = true;
      });
      config.confirmation = raw.confirmation === undefined ? 'Thanks!' : text(raw.confirmation, 'confirmation', LIMITS.confirmation);
    } else {
      throw new Error('kind must be "add_to_list" or "poll", not ' + JSON.stringify(raw.kind === undefined ? null : raw.kind));
    }
    return config;
  }

  // ------------------------------------------------------------------------------- UI

  function build(config, clickThruUrl, navigationSupport) {
    ui.choices.textContent = '';
    if (config.kind === 'poll') {
      ui.question.textContent = config.question;
      ui.question.hidden = false;
      config.answers.forEach(function (answer) { addChoice(answer, answer); });
      ui.choices.setAttribute('role', 'group');
      ui.choices.setAttribute('aria-label', config.question);
    } else {
      addChoice(config.label, 'add');
    }
    var url = null;
    try {
      if (clickThruUrl) url = httpUrl(clickThruUrl, 'clickThruUrl');
    } catch (e) {
      log('WARNING: clickThruUrl ignored: ' + e.message);
    }
    if (url && navigationSupport !== 'notSupported') {
      state.clickUrl = url;
      ui.watch.href = url;
      ui.watch.hidden = false;
      ui.watch.addEventListener('click', onWatch);
    }
  }

  function addChoice(label, value) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'choice';
    button.textContent = label;
    button.setAttribute('aria-pressed', 'false');
    button.addEventListener('click', function () { act(value, button); });
    ui.choices.appendChild(button);
  }

  function withChoice(url, choice) {
    var hash = url.indexOf('#');
    var head = hash >= 0 ? url.slice(0, hash) : url;
    var tail = hash >= 0 ? url.slice(hash) : '';
    var joiner = head.indexOf('?') >= 0 ? (/[?&]$/.test(head) ? '' : '&') : '?';
    return head + joiner + 'v=' + encodeURIComponent(choice) + tail;
  }

  function act(choice, button) {
    if (state.phase !== 'started' || state.acted) return;
    state.acted = true;
    // aria-disabled rather than disabled: the button keeps keyboard focus.
    Array.prototype.forEach.call(ui.choices.children, function (b) { b.setAttribute('aria-disabled', 'true'); });
    button.setAttribute('aria-pressed', 'true');
    ui.status.textContent = state.config.confirmation;
    if (!state.config.interaction) {
      log('no track.interaction URL in adParameters: the choice ' + JSON.stringify(choice) + ' is not reported');
      return;
    }
    request('SIMID:Creative:reportTracking', { trackingUrls: [withChoice(state.config.interaction, choice)] })
      .then(null, function (value) {
        var note = document.createElement('span');
        note.className = 'note';
        note.textContent = ' (not saved)';
        ui.status.appendChild(note);
        log('reportTracking was rejected: ' + JSON.stringify(value === undefined ? null : value));
      });
  }

  function onWatch(event) {
    event.preventDefault();
    if (state.phase !== 'started') return;
    var url = state.clickUrl;
    var x = Math.round(event.clientX);
    var y = Math.round(event.clientY);
    if (!event.detail) { // from the keyboard: the link's centre
      var box = ui.watch.getBoundingClientRect();
      x = Math.round(box.left + box.width / 2);
      y = Math.round(box.top + box.height / 2);
    }
    var first = !state.clicked;
    state.clicked = true;
    if (state.env.navigationSupport === 'adHandles') {
      window.open(url, '_blank', 'noopener');
      if (first) post('SIMID:Creative:clickThru', { x: x, y: y, playerHandles: false, url: url });
      return;
    }
    var asked = first
      ? request('SIMID:Creative:clickThru', { x: x, y: y, playerHandles: true, url: url })
      : request('SIMID:Creative:requestNavigation', { uri: url });
    asked.then(null, function () { window.open(url, '_blank', 'noopener'); });
  }

  function usable(d) {
    return d && typeof d === 'object' && [d.x, d.y, d.width, d.height].every(function (v) {
      return typeof v === 'number' && isFinite(v);
    }) && d.width > 0 && d.height > 0;
  }

  // The panel stays inside the video's rectangle (SIMID gives it relative to the page, as
  // it gives the iframe's), and inside the iframe as it is now (a player may resize the
  // iframe before it says so); -1 or anything unusable means "the whole iframe".
  function place() {
    var video = state.env.videoDimensions;
    var creative = state.env.creativeDimensions;
    var style = ui.stage.style;
    var viewW = window.innerWidth || document.documentElement.clientWidth;
    var viewH = window.innerHeight || document.documentElement.clientHeight;
    if (usable(video) && usable(creative)) {
      var left = Math.min(Math.max(0, video.x - creative.x), Math.max(0, viewW - 1));
      var top = Math.min(Math.max(0, video.y - creative.y), Math.max(0, viewH - 1));
      style.left = left + 'px';
      style.top = top + 'px';
      style.width = Math.max(0, Math.min(video.width, creative.width - left, viewW - left)) + 'px';
      style.height = Math.max(0, Math.min(video.height, creative.height - top, viewH - top)) + 'px';
    } else {
      style.left = style.top = '0';
      style.width = style.height = '100%';
    }
  }

  window.addEventListener('resize', place);

  // ------------------------------------------------------------------------------ start

  if (window.parent !== window) {
    request('createSession', {}).then(null, function () { /* the player may still init us later */ });
  }
})();
