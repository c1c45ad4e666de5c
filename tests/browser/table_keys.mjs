// The table screen's keys, in real headless Chromium: Enter (also the numeric pad's)
// approves the pending voter and Esc or the numeric pad's minus cancels, whatever has
// the focus; a focused button (Menu, Åbn bordet) never gets the Enter meant for the
// voter, and a stray Enter after using the menu opens nothing.
//
// Usage: node table_keys.mjs http://127.0.0.1:PORT
import { launch, fail, poster } from "./chromium.mjs";

const [base] = process.argv.slice(2);
if (!base) {
  console.error("usage: node table_keys.mjs BASE_URL");
  process.exit(2);
}

const api = poster(base);

const browser = await launch();
// The four test voters this table may admit.
const cards = ["CARD-NORMAL", "CARD-RVONLY", "CARD-SECOND", "CARD-THIRD"];

try {
  const page = await browser.newPage({ viewport: { width: 800, height: 480 }, locale: "da-DK" });
  page.on("dialog", (d) => d.accept(""));
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("place").textContent !== "…");
  const menuOpen = () => page.$eval("#menu", (d) => d.open);
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    return a ? a.tagName.toLowerCase() + (a.id ? "#" + a.id : "") : "none";
  });
  // Puts the screen back to an open table with nobody pending and the menu shut, so
  // each case starts alike even after an earlier one failed.
  async function reset() {
    await page.evaluate(() => { const m = document.getElementById("menu"); if (m.open) m.close(); });
    await api("/api/table/open");
    await page.waitForFunction(() => document.getElementById("state").textContent === "åbent"
      && document.querySelector("main").dataset.kind === "ready");
  }
  // Scans the next card (as the hardware scanner does, not through the page) and waits
  // for the voter on screen.
  async function scan(card) {
    const answer = await api("/api/scan", { code: card });
    if (answer.view.kind !== "pending") throw new Error(`${card} scanned: ${JSON.stringify(answer.view)}`);
    await page.waitForSelector("main[data-kind=pending]", { timeout: 10000 });
  }
  async function expectKind(kind, what) {
    try {
      await page.waitForSelector(`main[data-kind=${kind}]`, { timeout: 5000 });
    } catch {
      const now = await page.$eval("main", (m) => m.dataset.kind);
      fail(`${what}: the screen shows "${now}", not "${kind}" (focus on ${await focused()}, menu ${await menuOpen() ? "open" : "shut"})`);
    }
  }

  // 1. Issue 20/7 as it happened: the menu was used (open the table), then shut. A
  // stray Enter must open nothing, and the next voter's Enter approves that voter.
  await page.click("#menu-btn");
  await page.click("[data-state=open]");
  await page.waitForFunction(() => document.getElementById("state").textContent === "åbent");
  await page.click("#menu-close");
  const after = await focused();
  if (after === "button#menu-btn") fail("the Menu button keeps the focus after the menu is shut");
  await page.keyboard.press("Enter");
  if (await menuOpen()) fail(`a stray Enter after the menu opened it again (focus on ${await focused()})`);
  await scan(cards[0]);
  await page.keyboard.press("Enter");
  await expectKind("admitted", "Enter for the next voter after a stray Enter");
  const state = await page.textContent("#state");
  if (state !== "åbent") fail(`the table is "${state}" after the voter's Enter`);

  // 2. Enter with the Menu button focused while a voter is pending approves the voter.
  await reset();
  await page.focus("#menu-btn");
  await scan(cards[1]);
  await page.keyboard.press("Enter");
  if (await menuOpen()) fail("Enter on the focused Menu button opened the menu over a pending voter");
  await expectKind("admitted", "Enter with the Menu button focused");

  // 3. The menu left open when the next card is scanned: it shuts, so the voter is seen,
  // and the numeric pad's Enter approves (never "Åbn bordet", which drops the voter).
  await reset();
  await page.click("#menu-btn");
  await page.focus("[data-state=open]");
  await scan(cards[2]);
  try {
    await page.waitForFunction(() => !document.getElementById("menu").open, null, { timeout: 5000 });
  } catch { fail("the menu stays open over the pending voter"); }
  await page.keyboard.press("NumpadEnter");
  await expectKind("admitted", "NumpadEnter with the menu's Åbn bordet focused before the scan");

  // 4. The numeric pad has no Esc: its minus cancels, with the Menu button focused. The
  // keys are told on screen, next to the buttons.
  await reset();
  await page.focus("#menu-btn");
  await scan(cards[3]);
  const hint = await page.evaluate(() => document.getElementById("keys-hint")?.textContent ?? "");
  if (!hint.includes("Enter") || !hint.includes("Esc") || !hint.includes("−")) {
    fail(`no hint of the keys beside the buttons: "${hint}"`);
  }
  await page.keyboard.press("NumpadSubtract");
  await expectKind("ready", "NumpadSubtract to cancel");
  if (await menuOpen()) fail("NumpadSubtract opened the menu");

  // 5. Esc cancels too, with a demo button focused.
  await scan(cards[3]);
  await page.focus("#card-form button");
  await page.keyboard.press("Escape");
  await expectKind("ready", "Escape to cancel");

  // 6. Enter in the demo scanner's empty field approves the voter scanned before.
  await scan(cards[3]);
  await page.focus("#scan-input");
  await page.keyboard.press("Enter");
  await expectKind("admitted", "Enter in the empty scan field");

  if (!process.exitCode) console.log("keys passed: Enter and numeric pad reach the voter whatever has the focus");
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
