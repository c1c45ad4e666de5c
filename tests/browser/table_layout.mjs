// The table screen at the sizes it is used at (the official 7" display 800×480, 10"
// panels 1024×600 and 1280×800): every table state with every combination of the fast
// bordvalg banner, the double registration banner and a lost LAN. In each, Godkend and
// Annullér (when a voter is pending) and the status of the other tables must be wholly
// on screen and not covered, and the voter's name and ballots must be readable above
// the buttons. A screenshot of each goes to OUT_DIR/WxH/.
//
// The table is table 1 of a two-table place in test mode, opened, with its
// [fast_bordvalg] share covering every fresh card CARD-L01 … CARD-L12.
//
// Usage: node table_layout.mjs http://127.0.0.1:PORT PEER_KEY_HEX PIN OUT_DIR NAME
import { launch, fail, poster } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [base, peerKey, pin, out, name] = process.argv.slice(2);
if (!base || !peerKey || !pin || !out || !name) {
  console.error("usage: node table_layout.mjs BASE_URL PEER_KEY_HEX PIN OUT_DIR NAME");
  process.exit(2);
}
const SIZES = [[800, 480], [1024, 600], [1280, 800]];
for (const [w, h] of SIZES) mkdirSync(`${out}/${w}x${h}`, { recursive: true });

const api = poster(base);

// Where each element is and what is on top of its centre, measured in the page.
function measure(ids) {
  const W = window.innerWidth, H = window.innerHeight;
  return ids.map((id) => {
    const e = document.getElementById(id);
    if (!e) return { id, problem: "missing" };
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return { id, problem: "not shown" };
    const box = `${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} in ${W}×${H}`;
    if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) {
      return { id, problem: "not wholly on screen: " + box };
    }
    // The centre and every corner (inside a rounded border) must show the element itself.
    const d = Math.min(8, r.width / 4, r.height / 4);
    const points = [[(r.left + r.right) / 2, (r.top + r.bottom) / 2], [r.left + d, r.top + d],
      [r.right - d, r.top + d], [r.left + d, r.bottom - d], [r.right - d, r.bottom - d]];
    for (const [x, y] of points) {
      const hit = document.elementFromPoint(x, y);
      if (!(hit === e || e.contains(hit))) {
        const who = hit ? hit.tagName.toLowerCase() + (hit.id ? "#" + hit.id : "") : "nothing";
        return { id, problem: `covered by ${who} at ${Math.round(x)},${Math.round(y)} (${box})` };
      }
    }
    return { id, problem: null };
  });
}

const browser = await launch();
let checked = 0;

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "da-DK" });
  // The page's clock stands still: a verdict stays on screen (it would return to
  // "Scan valgkortet" after 8 or 15 s) however long the checks take.
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 1000);
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("state").textContent === "åbent");
  const token = (await api("/api/secretary/login", { name, pin })).token;

  let fresh = 0;
  const nextCard = () => `CARD-L${String(++fresh).padStart(2, "0")}`;
  const kind = (k) => page.waitForSelector(`main[data-kind=${k}]`, { timeout: 10000 });
  const tableState = (s) => page.waitForFunction(
    (s) => document.getElementById("state").classList.contains(s), s, { timeout: 10000 });

  // Checks the screen as it is now at every size; `pending` says whether the buttons
  // must be there.
  async function checkAt(label, pending, lost) {
    for (const [w, h] of SIZES) {
      await page.setViewportSize({ width: w, height: h });
      const ids = ["st-peers"];
      if (pending) ids.push("confirm", "cancel", "name", "ballots");
      for (const m of await page.evaluate(measure, ids)) {
        if (m.problem) fail(`${w}×${h} ${label}: #${m.id} ${m.problem}`);
      }
      if (!pending && await page.isVisible("#confirm")) fail(`${w}×${h} ${label}: Godkend shown without a voter`);
      const peers = await page.$eval("#st-peers", (e) => ({ text: e.textContent, bad: e.classList.contains("bad") }));
      if (lost !== peers.bad) fail(`${w}×${h} ${label}: network warning is ${JSON.stringify(peers)}`);
      const verdict = await page.$eval("main", (m) => m.dataset.kind);
      if (verdict === "admitted" || verdict === "refused") {
        // The verdict's title stays huge: read from the queue, not only at the table.
        const px = await page.$eval("#title", (t) => parseFloat(getComputedStyle(t).fontSize));
        if (px < 32) fail(`${w}×${h} ${label}: verdict title is only ${px}px`);
        const t = (await page.evaluate(measure, ["title"]))[0];
        if (t.problem) fail(`${w}×${h} ${label}: #title ${t.problem}`);
      }
      await page.screenshot({ path: `${out}/${w}x${h}/${label}.png` });
      checked++;
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  for (const doubles of [false, true]) {
    if (doubles) {
      // A double registration: a voter checked in here, then found on the paper list
      // of the same hour as well.
      const card = nextCard();
      await api("/api/scan", { code: card });
      await api("/api/confirm");
      const listNo = (await (await fetch(base + "/api/screen")).json()).view.voter.list_no;
      const now = Date.now();
      await api("/api/secretary/paper", { list_nos: [Number(listNo)], table_no: 1, from_ms: now - 3600000, to_ms: now }, token);
      await page.waitForSelector("#doubles:not([hidden])", { timeout: 10000 });
    }
    for (const fast of [false, true]) {
      await api("/api/secretary/mode", { mode: fast ? "fast" : "frit", reason: "test", force: true }, token);
      await page.waitForFunction((fast) => document.getElementById("mode-banner").hidden === !fast, fast);
      for (const lost of [false, true]) {
        await api("/api/test/partition", { blocked: lost ? [peerKey] : [] });
        await page.waitForFunction(
          (lost) => document.getElementById("st-peers").textContent.includes(lost ? "0 af 1" : "1 af 1"),
          lost, { timeout: 15000 });
        const combo = [doubles ? "dobbelt" : "", fast ? "fast" : "", lost ? "netfejl" : ""]
          .filter(Boolean).join("+") || "normal";

        // Each table state in turn: what brings it about, what shows it, its name.
        const card = nextCard();
        const states = [
          ["1-klar", null, null, null],
          ["2-kontroller", "/api/scan", { code: card }, () => kind("pending")],
          ["3-godkendt", "/api/confirm", {}, () => kind("admitted")],
          ["4-afvist", "/api/scan", { code: card }, () => kind("refused")],
          ["5-pause", "/api/table/pause", {}, () => tableState("paused")],
          ["6-lukket", "/api/table/close", { reason: "" }, () => tableState("closed")],
        ];
        for (const [name, path, body, shown] of states) {
          if (path) {
            await api(path, body);
            await shown();
          }
          await checkAt(`${combo}-${name}`, name === "2-kontroller", lost);
        }
        await api("/api/table/open");
        await tableState("open");
      }
    }
  }
  if (!process.exitCode) console.log(`layout passed: ${checked} screens, Godkend, Annullér and the network status on screen`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
