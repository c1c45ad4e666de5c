// Issue 20, problems 8, 9 and 10 on the table screen, in real headless Chromium, with
// the page's clock driven by the test (page.clock), never by waiting real seconds:
// - a verdict returns to "Scan valgkortet" (green after 8 s, red after 15 s), never
//   while a voter is pending;
// - pause and close ask in the page; "Nej" changes nothing; the answer is in view; no
//   native prompt;
// - texts: "Bordet er åbent", "Bordet holder pause", no paths, hashes or config keys
//   outside "Detaljer", free disk in GB; a paused or closed table shows no pre-opening
//   checklist; the ballot count asks for the contests of the day only; a time reads
//   "kl. 14.05".
//
// Usage: node table_texts.mjs http://127.0.0.1:PORT
import { launch, fail } from "./chromium.mjs";

const [base] = process.argv.slice(2);
if (!base) {
  console.error("usage: node table_texts.mjs BASE_URL");
  process.exit(2);
}

async function api(path, body) {
  const res = await fetch(base + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 480 }, locale: "da-DK" });
  // A native dialog (prompt, confirm) is a failure: it speaks the browser's language
  // and its Cancel used to close the table all the same.
  page.on("dialog", async (d) => { fail(`native ${d.type()} shown: "${d.message()}"`); await d.dismiss(); });
  // The page's clock moves only when the test says (runFor), never by itself.
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 1000);
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("place").textContent !== "…");
  const kind = () => page.$eval("main", (m) => m.dataset.kind);
  async function expectKind(k, what) {
    try {
      await page.waitForSelector(`main[data-kind=${k}]`, { timeout: 5000 });
    } catch {
      fail(`${what}: the screen shows "${await kind()}", not "${k}"`);
    }
  }
  const shown = (sel) => page.$eval(sel, (e) => !e.hidden && e.offsetParent !== null);
  const inView = (sel) => page.$eval(sel, (e) => {
    const r = e.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  });

  // 1. Before opening: the checklist, in words; the technical detail behind "Detaljer".
  await page.waitForSelector("#checklist:not([hidden]) li");
  const list = await page.$eval("#check-items", (u) => {
    const c = u.cloneNode(true);
    for (const d of c.querySelectorAll("details")) d.remove();
    return c.textContent;
  });
  for (const bad of ["SHA-256", "[sync]", "MB fri", "→", "simulated"]) {
    if (list.includes(bad)) fail(`the checklist shows "${bad}" outside Detaljer: ${list}`);
  }
  if (!/\d+,\d GB fri/.test(list)) fail(`free disk is not in GB with one decimal: ${list}`);
  const details = await page.$$eval("#check-items details summary", (s) => s.map((x) => x.textContent));
  if (details.length === 0 || details.some((t) => t !== "Detaljer")) fail(`no "Detaljer" in the checklist: ${details}`);
  const bar = await page.textContent("#st-printer");
  if (bar.includes("→") || bar.includes("/") || bar.includes("simulated")) fail(`the status line shows technical detail: ${bar}`);

  // 2. Open: the sentence is right.
  await api("/api/table/open", {});
  await page.waitForFunction(() => document.getElementById("state").textContent === "åbent");
  const h = await page.textContent("#ready h1");
  if (h !== "Scan valgkortet") fail(`an open table says "${h}"`);

  // 3. A pending voter stays however long the birthdate takes.
  const pending = await api("/api/scan", { code: "CARD-NORMAL" });
  if (pending.view.kind !== "pending") fail(`CARD-NORMAL: ${JSON.stringify(pending.view)}`);
  await expectKind("pending", "scanned");
  await page.clock.runFor(60_000);
  if (await kind() !== "pending") fail(`a pending voter left the screen after 60 s: ${await kind()}`);

  // 4. Green: still there after 7 s, gone after 8 s, with the voter's data.
  await page.click("#confirm");
  await expectKind("admitted", "confirmed");
  await page.clock.runFor(7_000);
  if (await kind() !== "admitted") fail("the green screen left before 8 s");
  await page.clock.runFor(1_500);
  await expectKind("ready", "green after 8 s");
  if (await shown("#voter-box")) fail("the previous voter is still on screen after green");
  if ((await api("/api/screen")).view.kind !== "ready") fail("the daemon still holds the green verdict");

  // 5. Red (already voted): still there after 14 s, gone after 15 s.
  const red = await api("/api/scan", { code: "CARD-NORMAL" });
  if (red.view.kind !== "refused") fail(`a second scan: ${JSON.stringify(red.view)}`);
  await expectKind("refused", "already voted");
  // The time as Danish public bodies write it, "kl. 14.05" (the README's "Sprog").
  const said = await page.textContent("#detail");
  if (!/^Registreret ved bord \d+ kl\. \d\d\.\d\d[ .].*Udlevér ikke stemmesedler\./.test(said)) {
    fail(`the already-voted detail: "${said}"`);
  }
  await page.clock.runFor(14_000);
  if (await kind() !== "refused") fail("the red screen left before 15 s");
  await page.clock.runFor(1_500);
  await expectKind("ready", "red after 15 s");

  // 6. A new verdict restarts the time: green at 6 s into a red is not cut short.
  await api("/api/scan", { code: "CARD-BREV" });
  await expectKind("refused", "brevstemme");
  await page.clock.runFor(6_000);
  await api("/api/scan", { code: "CARD-SECOND" });
  await expectKind("pending", "next voter");
  await page.click("#confirm");
  await expectKind("admitted", "next voter confirmed");
  await page.clock.runFor(7_000);
  if (await kind() !== "admitted") fail("a green screen left early: the red one's timer ran on");
  await page.clock.runFor(1_500);
  await expectKind("ready", "second green after 8 s");

  // 7. The ballot count asks for the day's contests only (KV and RV): handed out,
  // returned and exchanged (ombyttet) each.
  await page.click("#menu-btn");
  const fields = await page.$$eval("#recon-fields input", (i) => i.map((x) => x.name));
  if (fields.join(",") !== "ho_KV,re_KV,ex_KV,ho_RV,re_RV,ex_RV") fail(`the count asks for ${fields}`);
  const tech = await page.$eval("#tech summary", (s) => s.textContent);
  if (tech !== "Detaljer") fail(`no Detaljer in the menu: ${tech}`);

  // 8. Pause: asked in the page; "Nej" changes nothing; the answer is in view.
  await page.click("[data-state=pause]");
  if (!(await shown("#state-confirm"))) fail("pause asks nothing");
  if (!(await inView("#state-yes"))) fail("the pause question is below the fold");
  await page.click("#state-no");
  if ((await api("/api/screen")).table_state !== "open") fail("'Nej' to pause paused the table");
  const no = await page.textContent("#state-msg");
  if (!no.startsWith("Intet er ændret")) fail(`after "Nej": "${no}"`);
  if (!(await inView("#state-msg"))) fail("the answer to pause is below the fold");
  await page.click("[data-state=pause]");
  await page.click("#state-yes");
  await page.waitForFunction(() => document.getElementById("state").textContent === "holder pause");
  const paused = await page.textContent("#state-msg");
  if (paused !== "Bordet holder pause.") fail(`after pause: "${paused}"`);
  if (!(await inView("#state-msg"))) fail("the answer to pause is below the fold");

  // 9. Close: a reason in the page; "Nej" keeps the table as it was.
  await page.click("[data-state=close]");
  if (!(await shown("#close-reason"))) fail("close asks no reason in the page");
  await page.fill("#close-reason", "frokost");
  await page.click("#state-no");
  if ((await api("/api/screen")).table_state !== "paused") fail("'Nej' to close closed the table");
  await page.click("[data-state=close]");
  if (await page.inputValue("#close-reason") !== "") fail("the cancelled reason is still filled in");
  await page.fill("#close-reason", "Valget er slut");
  await page.click("#state-yes");
  await page.waitForFunction(() => document.getElementById("state").textContent === "lukket");
  await page.click("#menu-close");

  // 10. A closed (or paused) table shows its state in words and no pre-opening checklist.
  const closed = await page.textContent("#ready h1");
  if (closed !== "Bordet er lukket") fail(`a closed table says "${closed}"`);
  if (await shown("#checklist")) fail("a closed table shows the pre-opening checklist");
  await api("/api/table/open", {});
  await api("/api/table/pause", {});
  await page.waitForFunction(() => document.getElementById("ready").querySelector("h1").textContent === "Bordet holder pause");
  if (await shown("#checklist")) fail("a paused table shows the pre-opening checklist");

  if (!process.exitCode) console.log("texts passed");
} finally {
  await browser.close();
}
