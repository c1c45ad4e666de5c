// The valgsekretær's screen, reached from the table's menu in the same window: search a
// voter, then act on the voter found (send without card to a table, undo a check-in, new
// card, resolve a double registration), each confirmed in the page with the voter's
// name; the sends without card are listed with where each stands. PDFs open in the
// page. Locks itself (server side) after five idle minutes (the list's polling is no
// use of the screen); a 401 brings the login screen back: tap your name (the
// valgsekretær or a valgstyrer), then your personal PIN.
"use strict";

const $ = (id) => document.getElementById(id);
// An answer without a Danish sentence (a proxy, a crash): the status code in brackets,
// and what to do.
const failed = (status) => `Der skete en fejl (${status}). Prøv igen.`;
let token = null;
let tables = [];
let thisTable = null;
// The official whose PIN is asked for (tapped on the login screen).
let official = null;

function lock(message) {
  token = null;
  closeViewer();
  $("work").hidden = true;
  $("lock").hidden = false;
  $("logout").hidden = true;
  $("lock-msg").textContent = message || "";
  $("pin").value = "";
  chooseOfficial(null);
}

// The login screen: one button per official (names and roles only, from the table).
async function loadOfficials() {
  const res = await fetch("/api/secretary/officials");
  const data = await res.json().catch(() => ({}));
  const box = $("officials");
  box.innerHTML = "";
  for (const o of data.officials || []) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "official";
    b.textContent = o.name;
    b.title = o.role === "valgstyrer" ? "Valgstyrer" : "Valgsekretær";
    b.addEventListener("click", () => chooseOfficial(o.name));
    box.appendChild(b);
  }
  if (!box.children.length) $("lock-msg").textContent = data.error || "Der er ikke sat PIN-koder for valgsekretær og valgstyrere på dette bord.";
}

function chooseOfficial(name) {
  official = name;
  for (const b of $("officials").children) b.setAttribute("aria-pressed", String(b.textContent === name));
  $("login-form").hidden = !name;
  $("lock-title").textContent = name ? `${name}: indtast din PIN` : "Tryk på dit navn";
  if (name) { $("pin").value = ""; $("pin").focus(); }
}

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) { lock(data.error); throw new Error(data.error); }
  if (!res.ok) throw new Error(data.error || failed(res.status));
  return data;
}

// In-page confirmation: resolves to the typed text (or "" without a field) on OK, to null
// on "Tilbage". A required field must be filled before OK is accepted.
function ask(text, okLabel, field) {
  const d = $("ask");
  $("ask-text").textContent = text;
  $("ask-ok").textContent = okLabel;
  $("ask-msg").textContent = "";
  const input = $("ask-input");
  input.hidden = !field;
  input.value = "";
  input.placeholder = field || "";
  return new Promise((resolve) => {
    const done = (v) => { d.close(); $("ask-form").onsubmit = null; $("ask-no").onclick = null; resolve(v); };
    $("ask-form").onsubmit = (e) => {
      e.preventDefault();
      if (field && !input.value.trim()) { $("ask-msg").textContent = "Udfyld feltet først."; input.focus(); return; }
      done(field ? input.value.trim() : "");
    };
    $("ask-no").onclick = () => done(null);
    d.showModal();
    (field ? input : $("ask-ok")).focus();
  });
}

// PDFs in the page, never in a new window.
function showPdf(title, url) {
  $("viewer-title").textContent = title;
  $("viewer-frame").src = url;
  $("viewer").hidden = false;
}
function closeViewer() {
  $("viewer").hidden = true;
  $("viewer-frame").removeAttribute("src");
}
$("viewer-close").addEventListener("click", closeViewer);
$("list-btn").addEventListener("click", () => showPdf("Afkrydset valgliste", `/api/secretary/valgliste.pdf?token=${token}`));
$("blank-btn").addEventListener("click", () => showPdf("Blank valgliste", `/api/secretary/valgliste.pdf?token=${token}&blank=true`));
$("report-btn").addEventListener("click", () => showPdf("Afslutningsrapport", `/api/secretary/afslutning.pdf?token=${token}`));
$("signs-btn").addEventListener("click", () => showPdf("Skilte til fast bordvalg", `/api/secretary/skilte.pdf?token=${token}`));
// The bundle for valgbord audit: a download (the server answers it as an attachment).
$("bundle-btn").addEventListener("click", () => { location.href = `/api/secretary/bundle.json?token=${token}`; });

async function loadTables() {
  const r = await call("GET", "/api/secretary/tables");
  tables = r.tables;
  thisTable = r.this_table;
  const sel = $("paper-table");
  sel.innerHTML = "";
  for (const n of tables) {
    const o = document.createElement("option");
    o.value = String(n);
    o.textContent = `Bord ${n}`;
    o.selected = n === thisTable;
    sel.appendChild(o);
  }
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await fetch("/api/secretary/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: official, pin: $("pin").value }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { $("lock-msg").textContent = data.error || "Forkert PIN."; return; }
  token = data.token;
  $("logout").textContent = `Lås (${data.name})`;
  $("lock").hidden = true;
  $("work").hidden = false;
  $("logout").hidden = false;
  sendsShown = "";
  try { await loadTables(); await loadSends(); } catch (err) { $("msg").textContent = err.message; }
  $("q").focus();
});

$("logout").addEventListener("click", async () => {
  await fetch("/api/secretary/logout", { method: "POST", headers: { Authorization: "Bearer " + token } });
  lock("Låst.");
});

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

// The voter as a person recognises them: name, birthdate, list number.
const who = (v) => `${v.name}, født ${v.birthdate}, løbenr. ${v.list_no}`;

async function act(run) {
  try { $("msg").textContent = await run(); await search(); }
  catch (err) { $("msg").textContent = err.message; }
  await loadSends().catch(() => {});
}

// Each voter sent without a card and where the send stands (waiting at the table,
// registered, cancelled, refused, not received), read from the log, so a send made from
// another table shows too. Polled while unlocked; the list is rebuilt only when it
// changed, so a button is never replaced under a finger.
let sendsShown = "";
async function loadSends() {
  if (!token) return;
  const r = await call("GET", "/api/secretary/sent");
  const text = JSON.stringify(r.sends) + JSON.stringify(tables);
  if (text === sendsShown) return;
  sendsShown = text;
  const tb = $("sent").querySelector("tbody");
  tb.innerHTML = "";
  $("sent-box").hidden = r.sends.length === 0;
  const lost = ["cancelled", "refused", "not_received"];
  // A long day sends hundreds: the newest ten are shown, and every older one that still
  // needs the valgsekretær (not registered); the rest are counted.
  const shown = r.sends.filter((s, i) => i < 10 || s.state !== "registered");
  const older = r.sends.length - shown.length;
  $("sent-older").hidden = older === 0;
  $("sent-older").textContent = `… og ${older} ældre, som er registreret.`;
  for (const s of shown) {
    const tr = document.createElement("tr");
    tr.dataset.state = s.state;
    cell(tr, s.name);
    cell(tr, `Bord ${s.table_no}`);
    cell(tr, s.sent_at);
    cell(tr, s.status, s.state === "registered" ? "yes" : lost.includes(s.state) ? "no" : "");
    const actions = cell(tr, "", "actions");
    if (s.resend) {
      // The identity was checked at the first send; the table may be another one now
      // (the first did not get the voter, or has closed).
      actions.append("Send igen til:");
      for (const n of tables) {
        actions.append(button(n === thisTable ? `Bord ${n} (dette bord)` : `Bord ${n}`, () => act(async () => {
          const r = await call("POST", "/api/secretary/checkin", { voter_id: s.voter_id, table_no: n });
          return `${r.title}: ${r.detail}`;
        })));
      }
    }
    tb.appendChild(tr);
  }
}
setInterval(() => { loadSends().catch(() => {}); }, 2000);

async function search() {
  const q = $("q").value.trim();
  if (!q) return;
  try {
    // The report names the words that found nobody, so a typo is seen as one.
    const report = await call("GET", "/api/secretary/search/report?q=" + encodeURIComponent(q));
    const hits = report.hits || [];
    const tb = $("results").querySelector("tbody");
    tb.innerHTML = "";
    $("results").hidden = hits.length === 0;
    const found = hits.length === 0 ? (report.message || "Ingen vælgere fundet.") : hits.length >= 30 ? "Mindst 30 vælgere fundet. Skriv mere i søgningen, fx fødselsdato eller adresse." : `${hits.length} ${hits.length === 1 ? "vælger" : "vælgere"} fundet.`;
    if (!$("msg").textContent) $("msg").textContent = found;
    for (const h of hits) tb.appendChild(row(h));
  } catch (err) { $("msg").textContent = err.message; }
}

function row(h) {
  const v = h.voter;
  const tr = document.createElement("tr");
  cell(tr, `${v.name} (løbenr. ${v.list_no})`);
  // The date on one line even on the 7" display: "15-03-1980" split at its hyphens misreads.
  const date = document.createElement("span");
  date.className = "nowrap";
  date.textContent = v.birthdate;
  cell(tr, "").append(date, ` (${v.age} år)`);
  cell(tr, v.address);
  cell(tr, h.place_name + (h.here ? "" : " – ANDET VALGSTED"));
  cell(tr, h.status + (h.double_registration ? " · DOBBELTREGISTRERING" : ""), h.may_vote ? "yes" : "no");
  const actions = cell(tr, "", "actions");
  if (h.may_vote) {
    actions.append("Uden kort til:");
    for (const n of tables) {
      actions.append(button(n === thisTable ? `Bord ${n} (dette bord)` : `Bord ${n}`, () => act(async () => {
        const ok = await ask(`Har du kontrolleret fødselsdato og adresse for ${who(v)}? Vælgeren vises på bord ${n}, som godkender eller annullerer.`, `Send til bord ${n}`);
        if (ok === null) return "";
        const r = await call("POST", "/api/secretary/checkin", { voter_id: v.id, table_no: n });
        return `${r.title}: ${r.detail}`;
      })));
    }
  }
  if (h.checked_in) {
    actions.append(button("Fortryd registrering", () => act(async () => {
      const reason = await ask(`Fortryd registreringen af ${who(v)}? (${h.status})`, "Fortryd registreringen", "Årsag, fx forkert vælger godkendt");
      if (reason === null) return "";
      const r = await call("POST", "/api/secretary/undo", { voter_id: v.id, reason });
      return r.text;
    })));
  }
  actions.append(button("Nyt valgkort", async () => {
    try {
      const ok = await ask(`Udskriv nyt valgkort til ${who(v)}? Alle tidligere kort bliver ugyldige.`, "Udskriv nyt valgkort");
      if (ok === null) return;
      const r = await call("POST", "/api/secretary/reissue", { voter_id: v.id });
      $("msg").textContent = `${r.notice || ""} Kortkode ${r.new_code}. `;
      $("msg").appendChild(button("Vis kortet (PDF)", () => showPdf(`Valgkort til ${v.name}`, `/api/secretary/card.pdf?voter_id=${encodeURIComponent(v.id)}&token=${token}`)));
    } catch (err) { $("msg").textContent = err.message; }
  }));
  if (h.double_registration) {
    actions.append(button("Løs dobbeltregistrering", () => act(async () => {
      const note = await ask(`Dobbeltregistrering af ${who(v)}. Bemærkning til afstemningsbogen:`, "Løs", "Bemærkning");
      if (note === null) return "";
      await call("POST", "/api/secretary/resolve", { voter_id: v.id, note });
      return `Dobbeltregistreringen af ${v.name} er løst.`;
    })));
  }
  return tr;
}

function todayAt(hhmm) {
  const [h, m] = hhmm.split(":").map(Number);
  const d = new Date();
  d.setHours(h, m, 0, 0);
  return d.getTime();
}

$("paper-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  const list_nos = f.list_nos.split(/[\s,;]+/).filter(Boolean).map(Number);
  try {
    const r = await call("POST", "/api/secretary/paper", {
      list_nos, table_no: Number(f.table_no), from_ms: todayAt(f.from), to_ms: todayAt(f.to),
    });
    const out = $("paper-result");
    out.innerHTML = "";
    const p = (text, cls) => { const el = document.createElement("p"); el.textContent = text; if (cls) el.className = cls; out.appendChild(el); };
    p(`Indtastet: ${r.entered.length}.`);
    for (const c of r.conflicts) p(`KONFLIKT: løbenr. ${c.list_no}, ${c.name}: ${c.reason}`, "no");
    for (const c of r.refused) p(`Ikke indtastet: løbenr. ${c.list_no}, ${c.name}: ${c.reason}`, "no");
    if (r.unknown.length) p(`Ukendte løbenumre: ${r.unknown.join(", ")}. Kontrollér dem på papirlisten.`, "no");
  } catch (err) { $("msg").textContent = err.message; }
});

// Brevstemmer (KRVL § 71): the logged-in valgstyrer and a second one (name and own PIN)
// take the marked ones into account or set them aside with a reason from the act. The
// undecided ones not flagged are marked already, so a clean batch is one tap.
async function loadBrev() {
  const r = await call("GET", "/api/secretary/brevstemmer");
  $("brev-count").textContent = `${r.brevstemmer.length} modtaget, ${r.undecided} ikke afgjort`;
  const reason = $("brev-reason");
  if (!reason.options.length) {
    for (const [code, text] of r.reasons) reason.append(new Option(text, code));
  }
  const second = $("brev-second");
  if (!second.options.length) {
    const o = await (await fetch("/api/secretary/officials")).json().catch(() => ({}));
    for (const x of o.officials || []) if (x.role === "valgstyrer") second.append(new Option(x.name, x.name));
  }
  const tb = $("brev-table").querySelector("tbody");
  tb.innerHTML = "";
  for (const b of r.brevstemmer) {
    const tr = document.createElement("tr");
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.value = b.voter_id;
    pick.checked = b.status === "modtaget" && !b.flag;
    pick.setAttribute("aria-label", `Vælg ${b.name}`);
    cell(tr, "").appendChild(pick);
    cell(tr, `${b.name} (${b.voter_id})`);
    cell(tr, b.birthdate);
    const done = b.valgstyrere.length ? ` – ${b.valgstyrere.join(" og ")}` : "";
    cell(tr, b.status_text + (b.reason_text ? `: ${b.reason_text}` : "") + done, b.status === "modtaget" ? "no" : "");
    cell(tr, [b.flag, b.struck ? `slettet: ${b.struck}` : ""].filter(Boolean).join(" · "), b.flag ? "no" : "");
    tb.appendChild(tr);
  }
}

async function decideBrev(accepted) {
  const ids = [...$("brev-table").querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
  try {
    const r = await call("POST", "/api/secretary/brevstemmer", {
      voter_ids: ids, accepted, reason: accepted ? null : $("brev-reason").value,
      second_name: $("brev-second").value, second_pin: $("brev-pin").value,
    });
    $("brev-msg").textContent = r.text;
    $("brev-msg").className = "";
  } catch (err) { $("brev-msg").textContent = err.message; $("brev-msg").className = "no"; }
  $("brev-pin").value = "";
  await loadBrev().catch(() => {});
}

$("brev").addEventListener("toggle", () => { if ($("brev").open) loadBrev().catch((err) => { $("brev-msg").textContent = err.message; }); });
$("brev-accept").addEventListener("click", () => decideBrev(true));
$("brev-aside").addEventListener("click", () => decideBrev(false));

// Election-day list changes: the office's signed file is sent as it is; the table checks
// the signature, the order and the brevstemme marks and says what it did.
async function showChanges() {
  const r = await call("GET", "/api/list/changes");
  // The checksum is for the election office: behind "Detaljer", never in the sentence.
  const marks = $("marks");
  marks.textContent = `Brevstemmer på listen: ${r.brevstemmer.count}. `;
  const tech = document.createElement("details");
  const sum = document.createElement("summary");
  sum.textContent = "Detaljer";
  const code = document.createElement("code");
  code.textContent = `SHA-256 ${r.brevstemmer.sha256}`;
  tech.append(sum, code);
  marks.appendChild(tech);
  const ul = $("change-list");
  ul.innerHTML = "";
  for (const c of r.changes) {
    const li = document.createElement("li");
    li.textContent = `Nr. ${c.serial} indlæst kl. ${new Date(c.wall_ms).toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit" })}${c.note ? " – " + c.note : ""}: ` +
      c.items.map((i) => `${i.voter_id} ${i.text}`).join("; ");
    ul.appendChild(li);
  }
}

$("changes").addEventListener("toggle", () => { if ($("changes").open) showChanges().catch((err) => { $("change-msg").textContent = err.message; }); });

$("change-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("change-file").files[0];
  if (!file) { $("change-msg").textContent = "Vælg filen fra valgkontoret."; return; }
  try {
    const res = await fetch("/api/list/changes", { method: "POST", headers: { "Content-Type": "application/json" }, body: await file.text() });
    const data = await res.json().catch(() => ({}));
    $("change-msg").textContent = res.ok ? data.text : (data.error || failed(res.status));
    $("change-msg").className = res.ok ? "" : "no";
    await showChanges();
  } catch (err) { $("change-msg").textContent = err.message; }
});

// Switching the polling place's mode; back to frit bordvalg lists the conflicts found.
$("mode-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const out = $("mode-result");
  out.innerHTML = "";
  const p = (text, cls) => { const el = document.createElement("p"); el.textContent = text; if (cls) el.className = cls; out.appendChild(el); };
  try {
    const r = await call("POST", "/api/secretary/mode", { mode: f.get("mode"), reason: f.get("reason") || "", force: f.get("force") === "on" });
    p(r.text);
    for (const c of r.conflicts) p(`DOBBELTREGISTRERING ${c.name} (${c.voter_id}): ${c.at.join(" og ")}`, "no");
  } catch (err) { p(err.message, "no"); }
});

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); $("msg").textContent = ""; search(); });
// The table's screen, for where this is and for what the valgsekretær must act on at
// once: two versions of a table's log (that table must stop registering).
function showScreen(s) {
  $("where").textContent = `${s.place_name}, bord ${s.table_no}`;
  const forks = s.forks || [];
  const f = $("forks");
  f.hidden = forks.length === 0;
  f.textContent = forks.map((x) => `${x.title.toUpperCase()} – ${x.detail}`).join(" ");
}
const refreshScreen = () => fetch("/api/screen").then((r) => r.json()).then(showScreen).catch(() => {});
refreshScreen();
setInterval(refreshScreen, 5000);
lock();
loadOfficials();
