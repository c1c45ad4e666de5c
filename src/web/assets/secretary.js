// The valgsekretær's screen: search without a card, check in at a chosen table, print a
// replacement card, resolve a double registration. Locks itself (server side) after five
// idle minutes; a 401 brings the PIN screen back.
"use strict";

const $ = (id) => document.getElementById(id);
let token = null;

function lock(message) {
  token = null;
  $("work").hidden = true;
  $("lock").hidden = false;
  $("logout").hidden = true;
  $("lock-msg").textContent = message || "";
  $("pin").value = "";
  $("pin").focus();
}

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) { lock(data.error); throw new Error(data.error); }
  if (!res.ok) throw new Error(data.error || ("Fejl " + res.status));
  return data;
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await fetch("/api/secretary/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ pin: $("pin").value }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { $("lock-msg").textContent = data.error || "Forkert PIN."; return; }
  token = data.token;
  $("list-link").href = `/api/secretary/valgliste.pdf?token=${token}`;
  $("blank-link").href = `/api/secretary/valgliste.pdf?token=${token}&blank=true`;
  $("signs-link").href = `/api/secretary/skilte.pdf?token=${token}`;
  $("lock").hidden = true;
  $("work").hidden = false;
  $("logout").hidden = false;
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

async function search() {
  const q = $("q").value.trim();
  if (!q) return;
  try {
    const hits = await call("GET", "/api/secretary/search?q=" + encodeURIComponent(q));
    const tb = $("results").querySelector("tbody");
    tb.innerHTML = "";
    $("results").hidden = hits.length === 0;
    $("msg").textContent = hits.length === 0 ? "Ingen vælgere fundet." : hits.length >= 30 ? "Mindst 30 fundet — præcisér søgningen (fødselsdato, adresse)." : `${hits.length} fundet.`;
    for (const h of hits) {
      const tr = document.createElement("tr");
      cell(tr, `${h.voter.name} (løbenr. ${h.voter.list_no})`);
      cell(tr, `${h.voter.birthdate} (${h.voter.age} år)`);
      cell(tr, h.voter.address);
      cell(tr, h.place_name + (h.here ? "" : " — ANDET VALGSTED"));
      cell(tr, h.status + (h.double_registration ? " · DOBBELTREGISTRERING" : ""), h.may_vote ? "yes" : "no");
      const actions = cell(tr, "");
      if (h.may_vote) {
        const sel = document.createElement("input");
        sel.type = "number"; sel.min = "1"; sel.value = "1"; sel.style.width = "4em";
        sel.setAttribute("aria-label", "Bord");
        const b = document.createElement("button");
        b.textContent = "Registrér uden kort ved bord";
        b.addEventListener("click", async () => {
          if (!confirm(`Har du kontrolleret fødselsdato og adresse for ${h.voter.name}?`)) return;
          try {
            const r = await call("POST", "/api/secretary/checkin", { voter_id: h.voter.id, table_no: Number(sel.value) });
            $("msg").textContent = `${r.title}: ${r.detail}`;
            search();
          } catch (err) { $("msg").textContent = err.message; }
        });
        actions.append(b, " ", sel);
      }
      const p = document.createElement("button");
      p.textContent = "Nyt valgkort";
      p.addEventListener("click", async () => {
        if (!confirm(`Udskriv nyt valgkort til ${h.voter.name}? Alle tidligere kort bliver ugyldige.`)) return;
        try {
          const r = await call("POST", "/api/secretary/reissue", { voter_id: h.voter.id });
          $("msg").textContent = `${r.notice || ""} Kortkode ${r.new_code}. `;
          const a = document.createElement("a");
          a.href = `/api/secretary/card.pdf?voter_id=${encodeURIComponent(h.voter.id)}&token=${token}`;
          a.target = "_blank";
          a.textContent = "Åbn kortet som PDF";
          $("msg").appendChild(a);
        } catch (err) { $("msg").textContent = err.message; }
      });
      actions.append(" ", p);
      if (h.double_registration) {
        const d = document.createElement("button");
        d.textContent = "Løs dobbeltregistrering";
        d.addEventListener("click", async () => {
          const note = prompt("Bemærkning til afstemningsbogen:");
          if (!note) return;
          try { await call("POST", "/api/secretary/resolve", { voter_id: h.voter.id, note }); search(); }
          catch (err) { $("msg").textContent = err.message; }
        });
        actions.append(" ", d);
      }
      tb.appendChild(tr);
    }
  } catch (err) { $("msg").textContent = err.message; }
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
    for (const c of r.conflicts) p(`KONFLIKT løbenr. ${c.list_no} ${c.name}: ${c.reason}`, "no");
    for (const c of r.refused) p(`Ikke indtastet løbenr. ${c.list_no} ${c.name}: ${c.reason}`, "no");
    if (r.unknown.length) p(`Ukendte løbenumre: ${r.unknown.join(", ")}`, "no");
  } catch (err) { $("msg").textContent = err.message; }
});

// Election-day list changes: the office's signed file is sent as it is; the table checks
// the signature, the order and the brevstemme marks and says what it did.
async function showChanges() {
  const r = await call("GET", "/api/list/changes");
  $("marks").textContent = `Brevstemmer på listen: ${r.brevstemmer.count} (kontrolsum ${r.brevstemmer.sha256.slice(0, 12)})`;
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
    $("change-msg").textContent = res.ok ? data.text : (data.error || ("Fejl " + res.status));
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

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
fetch("/api/screen").then((r) => r.json()).then((s) => { $("where").textContent = `${s.place_name}, bord ${s.table_no}`; }).catch(() => {});
lock();
