// The shop's search page: vanilla JS, no build step, no network beyond this server.
// Every search is logged by the server (it answers a query_id); the page reports what the shopper
// saw (impressions), picked (clicks) and how long they looked (dwell) to /events, citing that id.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { q: "", photo: null, photoUrl: null, filters: {}, queryId: null, hits: [], mode: "search" };
// Facet counts from the search before any filter: a field being filtered keeps offering its other
// values (tick "Men", still see "Women") instead of collapsing to the one ticked.
let unfilteredFacets = {};

function rid() {
  const a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}
function stored(kind, key) {
  let v = kind.getItem(key);
  if (!v) { v = rid(); kind.setItem(key, v); }
  return v;
}
const clientId = stored(localStorage, "shoplens.client");
const sessionId = stored(sessionStorage, "shoplens.session");

// ---- events ------------------------------------------------------------------------------
function sendEvents(events) {
  if (!events.length) return;
  const body = JSON.stringify(events);
  // text/plain: a CORS-safelisted type, so no browser refuses the beacon; the server reads it as JSON
  const blob = new Blob([body], { type: "text/plain;charset=UTF-8" });
  if (!(navigator.sendBeacon && navigator.sendBeacon("/events", blob))) {
    fetch("/events", { method: "POST", body, keepalive: true, headers: { "Content-Type": "application/json" } })
      .catch(() => {});
  }
}
function event(action, hit, position, extra) {
  return Object.assign({
    action_name: action,
    query_id: state.queryId,
    client_id: clientId,
    user_id: clientId,
    session_id: sessionId,
    timestamp: new Date().toISOString(),
    event_attributes: {
      object: { object_id: hit.id, object_id_field: "id" },
      position: { ordinal: position },
    },
  }, extra || {});
}

let openView = null; // {hit, position, t0}: a product the shopper is looking at, for dwell
function endDwell() {
  if (!openView) return;
  const ms = Math.round(performance.now() - openView.t0);
  const ev = event("dwell", openView.hit, openView.position);
  ev.event_attributes.dwell_time = ms;
  sendEvents([ev]);
  openView = null;
}
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") endDwell(); });
window.addEventListener("pagehide", endDwell);

// ---- searching ---------------------------------------------------------------------------
function setBusy(busy) { document.body.classList.toggle("busy", busy); }

async function answer(resp) {
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) throw new Error((data && data.error) || `the server answered ${resp.status}`);
  return data;
}

async function search() {
  const q = state.q.trim();
  if (!q && !state.photo) return;
  state.mode = "search";
  setBusy(true);
  try {
    let resp;
    if (state.photo) {
      const form = new FormData();
      form.append("image", state.photo, state.photo.name || "photo.jpg");
      if (q) form.append("q", q);
      form.append("k", "24");
      form.append("facets", "all");
      form.append("explain", "true");
      form.append("user", clientId);
      form.append("session", sessionId);
      if (Object.keys(state.filters).length) form.append("filters", JSON.stringify(state.filters));
      resp = await fetch("/search", { method: "POST", body: form });
    } else {
      const p = new URLSearchParams({ q, k: "24", facets: "all", explain: "1", user: clientId, session: sessionId });
      for (const [f, vals] of Object.entries(state.filters)) for (const v of vals) p.append("filter", `${f}:${v}`);
      resp = await fetch(`/search?${p}`);
    }
    const data = await answer(resp);
    const what = [q && `“${q}”`, state.photo && "your photo"].filter(Boolean).join(" + ");
    show(data, what);
  } catch (e) {
    showError(e.message);
  } finally {
    setBusy(false);
  }
}

async function similar(hit) {
  setBusy(true);
  try {
    const p = new URLSearchParams({ k: "24", explain: "1", user: clientId, session: sessionId });
    const data = await answer(await fetch(`/products/${encodeURIComponent(hit.id)}/similar?${p}`));
    state.mode = "similar";
    show(data, `products like “${hit.title || hit.id}”`, true);
    window.scrollTo({ top: 0, behavior: "smooth" });
  } catch (e) {
    showError(e.message);
  } finally {
    setBusy(false);
  }
}

// ---- rendering ---------------------------------------------------------------------------
function showError(msg) {
  $("error").textContent = msg;
  $("error").hidden = false;
}

function show(data, what, keepFacets) {
  $("welcome").hidden = true;
  $("error").hidden = true;
  $("toggle-filters").hidden = false;
  state.queryId = data.query_id || null;
  state.hits = data.results;
  const n = data.results.length;
  $("summary").innerHTML = "";
  const s = document.createElement("span");
  s.innerHTML = n ? `<b>${n}</b> result${n === 1 ? "" : "s"} for ` : "No results for ";
  s.append(what);
  $("summary").append(s);
  renderUnderstood(data.understanding);
  if (!keepFacets) renderFacets(data.facets || {});
  const grid = $("grid");
  grid.innerHTML = "";
  data.results.forEach((hit, i) => grid.append(card(hit, i)));
  $("empty").hidden = n > 0;
  if (!n) {
    const filtered = Object.keys(state.filters).length > 0;
    $("empty").textContent = filtered
      ? "Nothing matches these filters. Try removing one."
      : "We found nothing for that. Try other words, or a photo.";
  }
  if (state.queryId) sendEvents(data.results.map((h, i) => event("impression", h, i)));
}

function renderUnderstood(u) {
  const box = $("understood");
  box.innerHTML = "";
  const attrs = (u && u.attributes) || {};
  for (const [k, v] of Object.entries(attrs)) {
    const pill = document.createElement("span");
    pill.className = "pill";
    pill.textContent = `${FACET_LABELS[k] || k}: ${v}`;
    box.append(pill);
  }
}

const FACET_LABELS = { gender: "Gender", baseColour: "Colour", masterCategory: "Category", subCategory: "Type",
  articleType: "Article", season: "Season", usage: "Usage", type: "Product" };

function renderFacets(facets) {
  if (!Object.keys(state.filters).length) unfilteredFacets = facets;
  facets = { ...facets };
  for (const f of Object.keys(state.filters)) if (unfilteredFacets[f]) facets[f] = unfilteredFacets[f];
  const box = $("facets");
  box.innerHTML = "";
  const fields = Object.keys(facets).filter((f) => Object.keys(facets[f]).length > 0);
  if (!fields.length) {
    box.innerHTML = '<p class="none">Search to see filters.</p>';
  }
  for (const field of fields) {
    const sec = document.createElement("section");
    sec.className = "facet";
    const h = document.createElement("h3");
    h.textContent = FACET_LABELS[field] || field;
    sec.append(h);
    const chosen = state.filters[field] || [];
    const values = Object.entries(facets[field]).slice(0, 8);
    for (const v of chosen) if (!values.some(([x]) => x === v)) values.push([v, 0]);
    for (const [value, count] of values) {
      const label = document.createElement("label");
      const box2 = document.createElement("input");
      box2.type = "checkbox";
      box2.checked = chosen.includes(value);
      box2.dataset.field = field;
      box2.dataset.value = value;
      box2.addEventListener("change", () => toggleFilter(field, value, box2.checked));
      const name = document.createElement("span");
      name.textContent = value;
      const cnt = document.createElement("span");
      cnt.className = "n";
      cnt.textContent = count || "";
      label.append(box2, name, cnt);
      sec.append(label);
    }
    box.append(sec);
  }
  $("clear-filters").hidden = !Object.keys(state.filters).length;
}

function toggleFilter(field, value, on) {
  const vals = new Set(state.filters[field] || []);
  if (on) vals.add(value); else vals.delete(value);
  if (vals.size) state.filters[field] = [...vals]; else delete state.filters[field];
  search();
}

function money(p) {
  if (p === null || p === undefined) return "";
  return new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" }).format(p);
}

const SHOWN_ATTRS = ["baseColour", "gender", "subCategory", "season", "usage"];

function card(hit, i) {
  const el = $("card-tpl").content.firstElementChild.cloneNode(true);
  el.dataset.id = hit.id;
  const img = el.querySelector("img");
  if (hit.image_url) {
    img.src = hit.image_url;
    img.alt = hit.title || `product ${hit.id}`;
  } else {
    img.replaceWith(Object.assign(document.createElement("span"), { className: "noimg", textContent: "no photo" }));
  }
  el.querySelector(".title").textContent = hit.title || `Product ${hit.id}`;
  el.querySelector(".price").textContent = money(hit.price);
  const tags = el.querySelector(".tags");
  const attrs = hit.attributes || {};
  for (const k of SHOWN_ATTRS) {
    if (attrs[k]) tags.append(Object.assign(document.createElement("span"), { textContent: attrs[k] }));
  }
  el.querySelector(".card-open").addEventListener("click", () => openProduct(hit, i));
  el.querySelector(".more").addEventListener("click", () => similar(hit));
  const why = el.querySelector(".why");
  const panel = el.querySelector(".explain");
  fillExplain(panel, hit);
  why.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    why.setAttribute("aria-expanded", String(!panel.hidden));
  });
  panel.hidden = !$("explain-all").checked;
  return el;
}

const COMPONENT_LABELS = { bm25: "words", "text_dense:e5": "meaning (e5)", "text_dense:use": "meaning (USE)",
  text_to_image: "words → photo", image: "photo match", image_to_text: "photo → words", attributes: "attributes" };

function fillExplain(panel, hit) {
  const comps = Object.entries(hit.explain || {}).sort((a, b) => b[1].contribution - a[1].contribution);
  if (!comps.length) {
    panel.textContent = "No breakdown for this result.";
    return;
  }
  const max = Math.max(...comps.map(([, c]) => c.contribution), 1e-9);
  for (const [name, c] of comps) {
    const row = document.createElement("div");
    row.className = "row";
    row.title = `${name}: rank ${c.rank}, score ${c.score.toFixed(3)}, +${c.contribution.toFixed(4)}`;
    const label = Object.assign(document.createElement("span"), { className: "name", textContent: COMPONENT_LABELS[name] || name });
    const meter = Object.assign(document.createElement("span"), { className: "meter" });
    const bar = document.createElement("i");
    bar.style.width = `${Math.max(4, (100 * c.contribution) / max)}%`;
    meter.append(bar);
    const rank = Object.assign(document.createElement("span"), { textContent: `#${c.rank}` });
    row.append(label, meter, rank);
    panel.append(row);
  }
  const seen = Object.entries(hit.predicted_attributes || {});
  if (seen.length) {
    const p = document.createElement("div");
    p.className = "seen";
    p.textContent = "Seen in the photo: " + seen.map(([f, v]) => `${f} ${v.value} (${Math.round(v.p * 100)}%)`).join(", ");
    panel.append(p);
  }
}

// ---- product view (click + dwell) -----------------------------------------------------------
async function openProduct(hit, position) {
  endDwell();
  if (state.queryId) sendEvents([event("click", hit, position)]);
  openView = { hit, position, t0: performance.now() };
  $("detail-title").textContent = hit.title || `Product ${hit.id}`;
  $("detail-img").src = hit.image_url || "";
  $("detail-img").alt = hit.title || "";
  $("detail-price").textContent = money(hit.price);
  const dl = $("detail-attrs");
  dl.innerHTML = "";
  for (const [k, v] of Object.entries(hit.attributes || {})) {
    dl.append(Object.assign(document.createElement("dt"), { textContent: FACET_LABELS[k] || k }),
      Object.assign(document.createElement("dd"), { textContent: v }));
  }
  $("detail-desc").textContent = "";
  $("detail-similar").onclick = () => { closeProduct(); similar(hit); };
  $("detail").hidden = false;
  try {
    const p = await answer(await fetch(`/products/${encodeURIComponent(hit.id)}`));
    $("detail-desc").textContent = p.description || "";
  } catch (e) { /* the card's data is enough */ }
}
function closeProduct() {
  endDwell();
  $("detail").hidden = true;
}
$("detail-close").addEventListener("click", closeProduct);
$("detail").addEventListener("click", (e) => { if (e.target === $("detail")) closeProduct(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("detail").hidden) closeProduct(); });

// ---- photo input ---------------------------------------------------------------------------
function setPhoto(file) {
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photo = file;
  state.photoUrl = file ? URL.createObjectURL(file) : null;
  $("photo-chip").hidden = !file;
  if (file) $("photo-thumb").src = state.photoUrl;
}
$("photo").addEventListener("change", (e) => {
  const f = e.target.files[0];
  if (!f) return;
  if (!f.type.startsWith("image/")) { showError(`${f.name} is not an image`); return; }
  setPhoto(f);
  state.q = $("q").value; // words in the box go with the photo: "white" + a photo of a shirt
  state.filters = {};
  search();
  e.target.value = "";
});
$("photo-clear").addEventListener("click", () => { setPhoto(null); if (state.q) search(); });

let dragDepth = 0;
window.addEventListener("dragenter", (e) => {
  if (![...(e.dataTransfer.types || [])].includes("Files")) return;
  dragDepth += 1;
  $("drop").hidden = false;
});
window.addEventListener("dragleave", () => { dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) $("drop").hidden = true; });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  const f = [...e.dataTransfer.files].find((x) => x.type.startsWith("image/"));
  if (!f) { showError("Drop an image file (JPEG, PNG, WebP)."); return; }
  setPhoto(f);
  state.q = $("q").value;
  state.filters = {};
  search();
});

// ---- wiring -------------------------------------------------------------------------------
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.q = $("q").value;
  state.filters = {};
  search();
});
for (const b of document.querySelectorAll(".example")) {
  b.addEventListener("click", () => { $("q").value = b.textContent; state.q = b.textContent; state.filters = {}; search(); });
}
$("clear-filters").addEventListener("click", () => { state.filters = {}; search(); });
$("toggle-filters").addEventListener("click", () => $("filters").classList.toggle("open"));
$("explain-all").addEventListener("change", (e) => {
  for (const p of document.querySelectorAll(".explain")) p.hidden = !e.target.checked;
});
renderFacets({});
