// Moviola's page: home rows, search as you type, a title page with its trailer.
// Every text from the service is set with textContent (never parsed as HTML).
// An ES module (index.html loads it with type="module"). With a member, the trailer plays in
// video.js with the member's ad breaks (ads.js, loaded on demand); without one, or if the
// ad code cannot load, it plays in a plain <video>: the title never waits on ads.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  member: params.get("member") || localStorage.getItem("moviolaMember") || "",
  key: localStorage.getItem("moviolaKey") || "",
  session: sessionStorage.getItem("moviolaSession") || newId(),
  search: false,
};
sessionStorage.setItem("moviolaSession", state.session);

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJSON(path) {
  const answer = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await answer.json().catch(() => ({ error: answer.statusText }));
  if (!answer.ok) throw new Error(body.error || answer.statusText);
  return body;
}

function say(text) { $("status").textContent = text || ""; }

async function send(kind, fields) {
  if (!state.key || !state.member) return;  // events need the member and an API key
  try {
    await fetch("/events", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": state.key },
      body: JSON.stringify({ event_id: newId(), member_id: state.member, session_id: state.session, kind, ...fields }),
    });
  } catch (e) { /* an event lost is not worth an error on the page */ }
}

function card(item) {
  const img = el("img", { src: item.poster, alt: item.title, loading: "eager", width: "132", height: "198" });
  return el("button", { class: "card", type: "button", "data-title": item.title_id, onclick: () => openTitle(item.title_id) },
    img, el("div", { class: "name", text: item.title + (item.year ? ` (${item.year})` : "") }),
    el("div", { class: "why", text: item.because || "" }));
}

function showOnly(id) {
  for (const section of ["home", "title", "results"]) $(section).hidden = section !== id;
}

async function loadHome() {
  showOnly("home");
  if (!state.member) { say("Enter a member id to see their home page."); $("home").replaceChildren(); return; }
  say("");
  try {
    const data = await getJSON(`/members/${encodeURIComponent(state.member)}/home?session=${encodeURIComponent(state.session)}`);
    const rows = data.rows.map((row) => el("section", { class: "row", "data-row": row.id },
      el("h2", { text: row.title }), el("p", { class: "reason", text: row.reason }),
      el("div", { class: "strip" }, ...row.items.map(card))));
    $("home").replaceChildren(...rows);
    $("model").textContent = `model ${data.model}`;
  } catch (e) { say(e.message); $("home").replaceChildren(); }
}

async function openTitle(titleId) {
  if (location.hash !== `#/title/${encodeURIComponent(titleId)}`) {
    location.hash = `#/title/${encodeURIComponent(titleId)}`;
    return;
  }
  showOnly("title");
  const seq = playerSeq;  // changes if the viewer leaves before the title arrives
  try {
    const t = await getJSON(`/titles/${encodeURIComponent(titleId)}`);
    if (seq !== playerSeq) return;
    send("click", { title_id: t.title_id });
    const facts = [t.year, (t.genres || []).join(" / ")].filter(Boolean).join(" · ");
    const info = el("div", {}, el("h1", { text: t.title }), el("p", { class: "facts", text: facts }),
      el("p", { class: "synopsis", text: t.synopsis || "" }));
    let video = null;
    if (t.trailer) {
      video = el("video", { controls: "", preload: "auto", playsinline: "", muted: "", poster: t.poster, src: t.trailer });
      video.muted = true;
      info.append(video);
    } else {
      info.append(el("p", { class: "facts", text: "No trailer for this title." }));
    }
    $("title").replaceChildren(el("img", { class: "poster", src: t.poster, alt: t.title }), info);
    say("");
    if (video) playTrailer(video, t.title_id, seq);
  } catch (e) { say(e.message); }
}

// The title page's player: the ad runtime of the title on screen (null when none), and a
// counter that every departure bumps, so that a title left before its player was ready
// does not start playing.
let player = null;
let playerSeq = 0;

function stopPlayer() {
  playerSeq += 1;
  if (player) { player.dispose(); player = null; }
}

async function playTrailer(video, titleId, seq) {
  let told = false;
  const played = () => { if (!told) { told = true; send("play", { title_id: titleId }); } };
  if (state.member) {
    try {
      const ads = await import("./ads.js");
      if (seq !== playerSeq || !video.isConnected) return;  // the viewer moved on meanwhile
      const runtime = await ads.playWithAds(video, { member: state.member, titleId, onContentPlay: played });
      if (seq !== playerSeq) { runtime.dispose(); return; }
      player = runtime;
      return;
    } catch (e) {
      console.warn("ads unavailable; playing the trailer alone:", e);
      if (seq !== playerSeq || !video.isConnected) return;
    }
  }
  video.addEventListener("play", played);
  video.play().catch(() => {});
}

let searchTimer = null;
let searchSeq = 0;
function onSearch() {
  clearTimeout(searchTimer);
  const q = $("search").value.trim();
  if (!q) { route(); return; }
  searchTimer = setTimeout(async () => {
    const seq = ++searchSeq;
    const member = state.member ? `&member=${encodeURIComponent(state.member)}` : "";
    try {
      const data = await getJSON(`/search?q=${encodeURIComponent(q)}&k=20${member}`);
      if (seq !== searchSeq) return;  // a newer keystroke answered first
      stopPlayer();  // the results replace the title page: its player stops
      showOnly("results");
      const items = data.results.map((r) => card({ ...r, poster: `/titles/${encodeURIComponent(r.title_id)}/poster`,
        because: Array.isArray(r.matched) ? `matches ${r.matched.join(", ")}` : String(r.matched || "") }));
      $("results").replaceChildren(el("h2", { text: `Results for “${q}”` }), el("div", { class: "strip" }, ...items));
      send("search", { query: q });
    } catch (e) { say(e.message); }
  }, 120);
}

function route() {
  stopPlayer();  // leaving a title page (or opening another) ends its player and its ads
  const match = location.hash.match(/^#\/title\/(.+)$/);
  if (match) openTitle(decodeURIComponent(match[1]));
  else loadHome();
}

async function start() {
  $("member").value = state.member;
  $("key").value = state.key;
  $("who").addEventListener("submit", (e) => {
    e.preventDefault();
    state.member = $("member").value.trim();
    state.key = $("key").value.trim();
    localStorage.setItem("moviolaMember", state.member);
    localStorage.setItem("moviolaKey", state.key);
    location.hash = "#/";
    route();
  });
  try {
    const health = await getJSON("/healthz");
    state.search = Boolean(health.search);
    $("model").textContent = health.model ? `model ${health.model}` : "no model trained yet";
  } catch (e) { say(e.message); }
  if (state.search) {
    $("search").hidden = false;
    $("search").addEventListener("input", onSearch);
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
