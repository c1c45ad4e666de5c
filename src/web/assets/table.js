// The table screen: renders what the daemon publishes (Server-Sent Events) and sends the
// tilforordnedes actions. No logic of its own: the daemon decides, this only shows.
"use strict";

const $ = (id) => document.getElementById(id);
// An answer without a Danish sentence (a proxy, a crash): the status code in brackets,
// and what to do.
const failed = (status) => `Der skete en fejl (${status}). Prøv igen.`;
let current = null;
let shownPending = null;

// How long a verdict stays before the screen returns to "Scan valgkortet", so the next
// voter in the queue does not read the previous one's name, birthdate and address. Red
// stays longer: the tilforordnede must read what to do. A pending voter never goes (the
// daemon refuses), and the next scan replaces a verdict at once.
const VERDICT_MS = { admitted: 8000, refused: 15000 };
let verdictTimer = null;
let verdictFor = null;
function scheduleReturn(s) {
  const ms = VERDICT_MS[s.view.kind];
  if (ms === undefined) {
    clearTimeout(verdictTimer);
    verdictTimer = null;
    verdictFor = null;
    return;
  }
  if (verdictFor === s.view_id) return;
  clearTimeout(verdictTimer);
  verdictFor = s.view_id;
  const id = s.view_id;
  verdictTimer = setTimeout(() => {
    post("/api/dismiss", { view_id: id }).then(render).catch(() => {});
  }, ms);
}

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || failed(res.status));
  return data;
}

function text(id, value) { $(id).textContent = value == null ? "" : String(value); }

// Three short beeps for a refusal, once per screen version. The kiosk browser is
// started with --autoplay-policy=no-user-gesture-required so no touch is needed first.
let beeped = -1;
function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    for (let i = 0; i < 3; i++) {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.2;
      o.connect(g); g.connect(ctx.destination);
      o.start(ctx.currentTime + i * 0.2);
      o.stop(ctx.currentTime + i * 0.2 + 0.12);
    }
  } catch (e) { /* no audio device: the red screen and the buzzer remain */ }
}

function render(s) {
  if (s.view.kind === "refused" && s.version !== beeped && current) { beeped = s.version; beep(); }
  current = s;
  scheduleReturn(s);
  text("place", s.place_name);
  text("table", "Bord " + s.table_no);
  const st = $("state");
  st.className = "state " + s.table_state;
  st.textContent = s.table_state_text;
  text("counts", `Her: ${s.checkins_here} · Valgstedet: ${s.persons_checked_in} af ${s.eligible}`);
  $("test-banner").hidden = !s.test_mode;
  const mb = $("mode-banner");
  const mode = s.mode || { mode: "frit", text: "" };
  mb.hidden = mode.mode === "frit";
  mb.className = mode.mode;
  mb.textContent = mode.text;
  const n = $("notice");
  n.hidden = !s.notice;
  n.textContent = s.notice || "";

  const d = $("doubles");
  const doubles = s.double_registrations || [];
  d.hidden = doubles.length === 0;
  d.textContent = doubles.length === 0 ? "" : "DOBBELTREGISTRERING – tilkald valgsekretæren: " +
    doubles.map((x) => `${x.name}: ${x.at.join(" og ")}`).join("; ");
  // Two versions of a table's log: that table must not register any more.
  const f = $("forks");
  const forks = s.forks || [];
  f.hidden = forks.length === 0;
  f.textContent = forks.map((x) => `${x.title.toUpperCase()} – ${x.detail}`).join(" ");

  const v = s.view;
  const main = $("view");
  main.dataset.kind = v.kind;
  $("ready").hidden = v.kind !== "ready";
  $("voter-box").hidden = v.kind === "ready";
  if (v.kind === "ready" && s.table_state !== "open") {
    $("ready").querySelector("h1").textContent = s.table_state_sentence;
  } else {
    $("ready").querySelector("h1").textContent = "Scan valgkortet";
  }
  $("ready").querySelector(".hint").hidden = s.table_state !== "open";
  // The checklist is for before opening; a paused or closed table does not show it.
  if (v.kind === "ready" && s.table_state === "not_opened") showChecklist();
  else $("checklist").hidden = true;
  const voter = v.voter || null;
  $("voter").hidden = !voter;
  if (voter) {
    text("name", voter.name);
    text("birthdate", `${voter.birthdate} (${voter.age} år)`);
    text("sex", voter.sex);
    text("address", voter.address);
    text("list-no", voter.list_no);
  }
  $("ask").hidden = v.kind !== "pending";
  $("actionbar").hidden = v.kind !== "pending";
  // A voter scanned while the menu is open: the menu shuts, so the voter is seen and the
  // next Enter is for the voter, never for a button of the menu ("Åbn bordet" drops the
  // pending voter).
  const pendingNow = v.kind === "pending" && voter ? `${voter.list_no}|${voter.name}` : null;
  if (pendingNow && pendingNow !== shownPending && $("menu").open) $("menu").close();
  shownPending = pendingNow;
  if (v.kind === "pending") {
    text("title", "Kontrollér vælgeren");
    // A voter without a card: identity from the search alone.
    text("detail", v.id_hint || "");
    text("ballots", v.ballots_text);
  } else if (v.kind === "admitted") {
    text("title", "GODKENDT – REGISTRERET");
    text("detail", "");
    text("ballots", v.ballots_text);
  } else if (v.kind === "refused") {
    text("title", v.title);
    text("detail", v.detail);
    text("ballots", "");
  }

  const bar = s.status;
  const stat = (id, label, ok) => { const e = $(id); e.textContent = label; e.className = ok ? "ok" : "bad"; };
  stat("st-scanner", "Scanner: " + bar.scanner, bar.scanner_ok);
  stat("st-printer", "Printer: " + bar.printer, bar.printer_ok);
  $("st-printer").title = bar.printer_detail || "";
  text("tech-printer", bar.printer_detail ? "Printer: " + bar.printer_detail : "");
  stat("st-peers", "Borde: " + bar.peers, bar.peers_ok);
  stat("st-central", "Valgkontor: " + bar.central, bar.central_ok);
  const flood = $("st-flood");
  flood.hidden = !bar.sync_flood;
  if (bar.sync_flood) stat("st-flood", bar.sync_flood, false);
}

function tick() {
  const d = new Date();
  text("st-clock", d.toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit", second: "2-digit" }));
}

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("screen", (e) => render(JSON.parse(e.data)));
  es.onerror = () => {
    text("st-scanner", "Forbindelsen til bordet er afbrudt – prøver igen …");
    $("st-scanner").className = "bad";
  };
}

async function act(path, body) {
  try { render(await post(path, body)); }
  catch (e) { const n = $("notice"); n.hidden = false; n.textContent = e.message; }
}

// Godkend and Annullér, by touch or key; one at a time, so a double press or a held key
// sends one request, not two.
const isPending = () => current !== null && current.view.kind === "pending";
let deciding = false;
async function decide(path) {
  if (deciding || !isPending()) return;
  deciding = true;
  try { await act(path); } finally { deciding = false; }
}
$("confirm").addEventListener("click", () => decide("/api/confirm"));
$("cancel").addEventListener("click", () => decide("/api/cancel"));

// Page-wide keys (issue 20), handled before any focused element sees them: while a voter
// is pending, Enter (also the numeric pad's) approves, and Esc or minus cancels (most
// numeric pads have no Esc; minus is the numeric pad's top right key). A focused button
// never gets Enter: the screen is worked by touch, and a button left focused (Menu,
// "Åbn bordet") must not catch the Enter meant for the voter. Only a text field with
// something typed in it keeps Enter and minus (the demo scanner's code), and the open
// menu keeps its keys, except Enter on its buttons while a voter waits.
const isApproveKey = (e) => e.key === "Enter" || e.code === "NumpadEnter";
const isCancelKey = (e) => e.key === "Escape" || e.key === "-" || e.code === "NumpadSubtract";
function typedInto(el) {
  return el !== null && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.value !== ""));
}
document.addEventListener("keydown", (e) => {
  const approve = isApproveKey(e);
  const cancel = !approve && isCancelKey(e);
  if (!approve && !cancel) return;
  const el = document.activeElement;
  const onButton = el !== null && el.tagName === "BUTTON";
  if ($("menu").open) {
    if (approve && onButton && isPending()) { e.preventDefault(); e.stopPropagation(); }
    return;
  }
  if (!isPending()) {
    if (approve && onButton) { e.preventDefault(); e.stopPropagation(); }
    return;
  }
  if (typedInto(el) && e.key !== "Escape") return;
  e.preventDefault();
  e.stopPropagation();
  if (e.repeat) return;
  decide(approve ? "/api/confirm" : "/api/cancel");
}, true);

// Menu: table state, reconciliation, and the way to the valgsekretær's screen (same
// window: a kiosk has no other).
$("menu-btn").addEventListener("click", () => {
  const f = $("recon-fields");
  f.innerHTML = "";
  // Only the contests of the day.
  for (const c of (current && current.contests) || []) {
    const row = document.createElement("div");
    row.className = "recon-row";
    const label = (t, name) => {
      const l = document.createElement("label");
      l.append(t + " ");
      const i = document.createElement("input");
      i.name = name; i.type = "number"; i.min = "0"; i.inputMode = "numeric";
      l.appendChild(i);
      return l;
    };
    row.append(label(c.name + ": udleveret", "ho_" + c.code), " ", label("returneret", "re_" + c.code), " ", label("ombyttet", "ex_" + c.code));
    f.appendChild(row);
  }
  hideStateConfirm();
  $("state-msg").textContent = "";
  $("menu").showModal();
});
// However the menu shuts (Luk menu, Esc, a scan), the focus goes back to the page itself,
// not to the Menu button, where a stray Enter would open the menu again. The dialog puts
// the focus back on the Menu button as it closes, and its "close" event comes a task
// later: "Luk menu" lets go of the focus at once, the event covers the other ways.
function dropFocus() {
  const el = document.activeElement;
  if (el && el !== document.body) el.blur();
}
$("menu-close").addEventListener("click", () => {
  $("menu").close();
  dropFocus();
});
$("menu").addEventListener("close", dropFocus);
// Opening needs no question; pause and close ask in the page, and "Nej" changes nothing.
const STATE_ASK = {
  pause: { q: "Skal bordet holde pause? Der kan ikke registreres vælgere under pausen.", yes: "Ja, hold pause" },
  close: { q: "Skal bordet lukkes for i dag? Der kan ikke registreres flere vælgere ved bordet.", yes: "Ja, luk bordet" },
};
let askedState = null;
function hideStateConfirm() {
  askedState = null;
  $("state-confirm").hidden = true;
  $("close-reason").value = "";
}
function stateMsg(t) {
  const m = $("state-msg");
  m.textContent = t;
  m.scrollIntoView({ block: "nearest" });
}
async function setState(s, body) {
  try { render(await post("/api/table/" + s, body)); stateMsg(current.table_state_sentence + "."); }
  catch (e) { stateMsg(e.message); }
}
for (const b of document.querySelectorAll("[data-state]")) {
  b.addEventListener("click", () => {
    const s = b.dataset.state;
    const ask = STATE_ASK[s];
    if (!ask) { hideStateConfirm(); setState(s); return; }
    askedState = s;
    text("state-q", ask.q);
    text("state-yes", ask.yes);
    $("close-reason-row").hidden = s !== "close";
    $("state-confirm").hidden = false;
    stateMsg("");
    $("state-confirm").scrollIntoView({ block: "nearest" });
  });
}
$("state-yes").addEventListener("click", () => {
  const s = askedState;
  if (!s) return;
  const body = s === "close" ? { reason: $("close-reason").value.trim() } : undefined;
  hideStateConfirm();
  setState(s, body);
});
$("state-no").addEventListener("click", () => {
  hideStateConfirm();
  stateMsg("Intet er ændret. " + (current ? current.table_state_sentence + "." : ""));
});
$("recon-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const fd = new FormData(e.target);
  const handed_out = {}, returned = {}, exchanged = {};
  const by_kind = { ho: handed_out, re: returned, ex: exchanged };
  for (const [k, v] of fd.entries()) {
    if (v === "") continue;
    const [kind, c] = k.split("_");
    by_kind[kind][c] = Number(v);
  }
  try {
    const r = await post("/api/reconcile", { handed_out, returned, exchanged });
    const tb = $("recon-result").querySelector("tbody");
    tb.innerHTML = "";
    for (const l of r.lines) {
      const tr = document.createElement("tr");
      for (const [val, cls] of [[l.name, ""], [l.checkins, ""], [l.handed_out, ""], [l.returned, ""], [l.exchanged, ""], [l.difference, l.difference ? "bad" : ""]]) {
        const td = document.createElement("td"); td.textContent = val; td.className = cls; tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
    $("recon-result").hidden = false;
    $("menu-msg").textContent = r.matches ? "Optællingen stemmer." : "Optællingen stemmer IKKE. Tæl stemmesedlerne igen. Bordet kan lukkes, selv om der er en forskel.";
  } catch (err) { $("menu-msg").textContent = err.message; }
});
// Demo panel: a simulated scanner (only in test mode).
async function setupDemo() {
  const res = await fetch("/api/demo/cards");
  if (!res.ok) return;
  const cards = await res.json();
  $("demo").hidden = false;
  const sel = $("demo-cards");
  for (const c of cards) {
    const o = document.createElement("option");
    o.value = c.code;
    o.textContent = `${c.label}: ${c.code}`;
    sel.appendChild(o);
  }
  $("card-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act("/api/scan", { code: sel.value });
  });
  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("scan-input").value;
    $("scan-input").value = "";
    act("/api/scan", { code });
  });
}

fetch("/api/screen").then((r) => r.json()).then(render).catch(() => {});
connect();
setupDemo();
tick();
setInterval(tick, 1000);

// Before opening the screen shows the checklist; opening is refused until the blocking
// items pass (election mode).
async function showChecklist() {
  try {
    const r = await fetch("/api/checklist");
    if (!r.ok) return;
    const c = await r.json();
    const ul = $("check-items");
    ul.innerHTML = "";
    for (const i of c.items) {
      const li = document.createElement("li");
      li.className = (i.ok ? "ok" : "fail") + (i.blocking ? " blocking" : "");
      li.textContent = `${i.title}: ${i.detail}`;
      if (i.technical) {
        const d = document.createElement("details");
        const sum = document.createElement("summary");
        sum.textContent = "Detaljer";
        const p = document.createElement("code");
        p.textContent = i.technical;
        d.append(sum, p);
        li.appendChild(d);
      }
      ul.appendChild(li);
    }
    $("checklist").hidden = false;
  } catch (e) { /* the next screen update tries again */ }
}

async function postChecklist(path) {
  const r = await fetch(path, { method: "POST" });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { const n = $("notice"); n.hidden = false; n.textContent = data.error || failed(r.status); }
  showChecklist();
}
$("test-card-btn").addEventListener("click", () => postChecklist("/api/checklist/test-card"));
$("check-print-btn").addEventListener("click", () => postChecklist("/api/checklist/print"));
