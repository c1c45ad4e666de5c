// The election office screen: log in, then read the totals, the turnout chart, the
// tables' contact and the snapshots every few seconds. Plain JS, no libraries: the chart
// is SVG drawn here.
"use strict";

const $ = (id) => document.getElementById(id);
// An answer without a Danish sentence (a proxy, a crash): the status code in brackets,
// and what to do.
const failed = (status) => `Der skete en fejl (${status}). Prøv igen.`;
// "09:00" as the configuration writes it, "09.00" as the screen does (kl. 9.00).
const clockLabel = (label) => label.replace(":", ".");
const nf = new Intl.NumberFormat("da-DK");
const pf = new Intl.NumberFormat("da-DK", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f"];
let role = null;
let timer = null;

function hhmm(ms, seconds) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return p(d.getHours()) + "." + p(d.getMinutes()) + (seconds ? "." + p(d.getSeconds()) : "");
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  if (res.status === 401) { showLogin(); throw new Error("Du er ikke logget ind."); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || failed(res.status));
  return body;
}

function showLogin() {
  clearInterval(timer);
  timer = null;
  $("dashboard").hidden = true;
  $("login").hidden = false;
}

async function showDashboard(me) {
  role = me.role;
  $("who").textContent = me.user + (me.role === "admin" ? " (administrator)" : " (læseadgang)");
  $("take-snapshot").hidden = me.role !== "admin";
  $("login").hidden = true;
  $("dashboard").hidden = false;
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 3000);
}

function showError(msg) {
  $("error").textContent = msg || "";
  $("error").hidden = !msg;
}

async function refresh() {
  try {
    const [o, t, s] = await Promise.all([api("/api/overview"), api("/api/turnout"), api("/api/snapshots")]);
    renderOverview(o);
    renderChart(t);
    renderSnapshots(s);
    showError("");
  } catch (e) {
    showError("Kunne ikke hente tallene: " + e.message);
  }
}

function renderOverview(o) {
  $("test-banner").hidden = !o.test;
  $("election").textContent = "Valgkontoret – " + o.election_name;
  $("clock").textContent = "Opdateret kl. " + hhmm(o.now_ms, true);
  $("total-percent").textContent = pf.format(o.total.percent) + " %";
  $("total-checked-in").textContent = nf.format(o.total.checked_in);
  $("total-brev").textContent = nf.format(o.total.brevstemmer);
  $("total-total").textContent = nf.format(o.total.total);
  $("total-eligible").textContent = nf.format(o.total.eligible);
  $("total-doubles").textContent = nf.format(o.double_registrations);
  $("total-reissued").textContent = nf.format(o.reissued_cards);
  const forks = o.forks || [];
  $("forks").hidden = forks.length === 0;
  $("forks").textContent = forks.map((f) => `${f.title.toUpperCase()} – ${f.detail}`).join(" ");

  const contests = (list) => list.map((c) => c.contest + " " + nf.format(c.persons)).join(", ") || "–";
  const places = $("places").tBodies[0];
  places.replaceChildren();
  for (const p of o.places) {
    const f = p.figures;
    places.append(el("tr", { "data-place": p.id },
      el("td", {}, p.name + " (" + p.id + ")"),
      el("td", { class: "text mode" }, p.mode_text),
      el("td", {}, nf.format(f.eligible)),
      el("td", {}, nf.format(f.brevstemmer)),
      el("td", { class: "checked-in" }, nf.format(f.checked_in)),
      el("td", {}, nf.format(f.total)),
      el("td", { class: "percent" }, pf.format(f.percent) + " %"),
      el("td", { class: "text" }, contests(p.per_contest)),
      el("td", {}, nf.format(p.double_registrations)),
      el("td", {}, nf.format(p.reissued_cards)),
      el("td", { class: "text" }, el("a", { href: "/api/export/closing/" + encodeURIComponent(p.id) }, "PDF"))));
  }
  const t = o.total;
  places.append(el("tr", { class: "total" },
    el("td", {}, "Hele kommunen"), el("td", {}, ""), el("td", {}, nf.format(t.eligible)),
    el("td", {}, nf.format(t.brevstemmer)), el("td", {}, nf.format(t.checked_in)),
    el("td", {}, nf.format(t.total)), el("td", {}, pf.format(t.percent) + " %"),
    el("td", { class: "text" }, contests(o.total_per_contest)),
    el("td", {}, nf.format(o.double_registrations)), el("td", {}, nf.format(o.reissued_cards)), el("td", {}, "")));

  const tables = $("tables").tBodies[0];
  tables.replaceChildren();
  for (const p of o.places) {
    for (const t of p.table_health) {
      tables.append(el("tr", { "data-place": p.id, "data-table": t.table_no },
        el("td", {}, p.name + " (" + p.id + ")"),
        el("td", {}, t.table_no),
        el("td", { class: "text" }, t.state),
        el("td", {}, nf.format(t.checkins)),
        el("td", {}, t.last_contact_ms ? "kl. " + hhmm(t.last_contact_ms, true) : "aldrig"),
        el("td", { class: "text health " + t.health }, t.health_text)));
    }
  }
}

// A line chart of turnout in percent: one thin line per polling place, a thick one for
// the whole municipality.
function renderChart(t) {
  const W = 800, H = 320, L = 48, R = 16, T = 12, B = 32;
  const xs = t.at_ms;
  const box = $("chart");
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, "data-points": xs.length });
  const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 3600000);
  const all = [t.total, ...t.places];
  const top = Math.max(10, Math.ceil(Math.max(0, ...all.flatMap((p) => p.percent)) / 10) * 10);
  const X = (ms) => L + (ms - x0) / (x1 - x0) * (W - L - R);
  const Y = (p) => H - B - p / top * (H - T - B);
  for (let p = 0; p <= top; p += top > 50 ? 20 : 10) {
    s.append(svg("line", { x1: L, x2: W - R, y1: Y(p), y2: Y(p), stroke: "#ddd" }));
    const lab = svg("text", { x: L - 6, y: Y(p) + 4, "text-anchor": "end", "font-size": 11, fill: "#555" });
    lab.textContent = p + " %";
    s.append(lab);
  }
  for (const ms of xs) {
    if (new Date(ms).getMinutes() !== 0) continue;
    const lab = svg("text", { x: X(ms), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#555" });
    lab.textContent = hhmm(ms);
    s.append(lab);
  }
  s.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#333" }));
  const legend = $("legend");
  legend.replaceChildren();
  const line = (series, colour, width, cls) => {
    const d = series.percent.map((p, i) => (i ? "L" : "M") + X(xs[i]).toFixed(1) + " " + Y(p).toFixed(1)).join(" ");
    s.append(svg("path", { d, fill: "none", stroke: colour, "stroke-width": width, class: cls, "data-place": series.id }));
    const last = series.percent[series.percent.length - 1] || 0;
    legend.append(el("span", {}, el("i", { style: "background:" + colour }), series.name + " " + pf.format(last) + " %"));
  };
  t.places.forEach((p, i) => line(p, COLOURS[i % COLOURS.length], 2, "series place"));
  line(t.total, "#111", 4, "series total");
  box.replaceChildren(s);
}

function renderSnapshots(v) {
  $("schedule").textContent = "Faste tidspunkter: " +
    (v.schedule.map((d) => clockLabel(d.label) + (d.taken ? " ✓" : "")).join(", ") || "ingen");
  const out = $("snapshots");
  out.replaceChildren();
  for (const snap of [...v.taken].reverse()) {
    const rows = snap.places.map((p) => el("tr", {},
      el("td", {}, p.name + " (" + p.place + ")"), el("td", {}, nf.format(p.figures.eligible)),
      el("td", {}, nf.format(p.figures.brevstemmer)), el("td", {}, nf.format(p.figures.checked_in)),
      el("td", {}, nf.format(p.figures.total)), el("td", {}, pf.format(p.figures.percent) + " %"),
      el("td", { class: "text late" }, p.late ? (p.late > 0 ? "+" : "") + p.late : "")));
    const f = snap.total;
    rows.push(el("tr", { class: "total" }, el("td", {}, "I alt"), el("td", {}, nf.format(f.eligible)),
      el("td", {}, nf.format(f.brevstemmer)), el("td", {}, nf.format(f.checked_in)), el("td", {}, nf.format(f.total)),
      el("td", {}, pf.format(f.percent) + " %"), el("td", {}, "")));
    const table = el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Valgsted"), el("th", {}, "Stemmeberettigede"), el("th", {}, "Brevstemmer"),
        el("th", {}, "Mødt"), el("th", {}, "I alt"), el("th", {}, "Procent"), el("th", { class: "text" }, "Modtaget senere"))),
      el("tbody", {}, ...rows));
    const title = "Kl. " + clockLabel(snap.label) + (snap.scheduled ? "" : " (ekstra)") + " – taget kl. " + hhmm(snap.taken_ms, true);
    out.append(el("div", { class: "snapshot", "data-label": snap.label },
      el("h3", {}, title),
      snap.late_text ? el("p", { class: "late" }, snap.late_text) : "",
      table));
  }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const res = await fetch("/api/login", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ user: $("user").value, password: $("password").value }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { $("login-error").textContent = body.error || "Login mislykkedes. Kontrollér brugernavn og adgangskode."; return; }
    $("password").value = "";
    await showDashboard(body);
  } catch (e) {
    $("login-error").textContent = "Ingen forbindelse til valgkontorets server. Prøv igen om lidt.";
  }
});

$("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST", credentials: "same-origin" }).catch(() => {});
  showLogin();
});

$("take-snapshot").addEventListener("click", async () => {
  try { await api("/api/snapshots", { method: "POST" }); await refresh(); }
  catch (e) { showError(e.message); }
});

(async () => {
  const res = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
  if (res && res.ok) await showDashboard(await res.json());
  else showLogin();
})();
