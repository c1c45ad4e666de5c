// A tilforordnet at the table screen, in real headless Chromium: open the table, scan a
// card, confirm, see green; scan it again, see red "already voted". Screenshots of each
// step go to the folder given as second argument.
//
// Usage: node table_flow.mjs http://127.0.0.1:PORT OUT_DIR
import { launch, fail } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node table_flow.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const browser = await launch();

async function textOf(page, sel) {
  return (await page.textContent(sel))?.trim() ?? "";
}

try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 600 }, locale: "da-DK" });
  // The page's clock stands still: a verdict stays on screen (it would return to
  // "Scan valgkortet" after 8 or 15 s) however long the checks take.
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 1000);
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("place").textContent !== "…");

  // Open the table from the menu.
  await page.click("#menu-btn");
  await page.click("[data-state=open]");
  await page.waitForFunction(() => document.getElementById("state").textContent === "åbent");
  await page.click("#menu-close");

  // Scan through the demo panel's simulated scanner.
  await page.fill("#scan-input", "CARD-NORMAL");
  await page.press("#scan-input", "Enter");
  await page.waitForSelector("main[data-kind=pending]", { timeout: 10000 });
  const name = await textOf(page, "#name");
  if (name !== "Jørgen Åge Møller-Aagaard") fail(`name shown is "${name}"`);
  const ballots = await textOf(page, "#ballots");
  if (ballots !== "Udlevér: Kommunalvalg + Regionsrådsvalg") fail(`ballots shown are "${ballots}"`);
  if (await page.isHidden("#ask")) fail("the reminder to ask for the birthdate is not shown");
  await page.screenshot({ path: `${out}/1-pending.png` });

  await page.click("#confirm");
  await page.waitForSelector("main[data-kind=admitted]", { timeout: 10000 });
  const green = await page.$eval("main", (m) => getComputedStyle(m).backgroundColor);
  if (green !== "rgb(223, 245, 227)") fail(`admitted background is ${green}, not green`);
  const title = await textOf(page, "#title");
  if (!title.startsWith("GODKENDT")) fail(`admitted title is "${title}"`);
  await page.screenshot({ path: `${out}/2-admitted.png` });

  await page.fill("#scan-input", "CARD-NORMAL");
  await page.press("#scan-input", "Enter");
  await page.waitForSelector("main[data-kind=refused]", { timeout: 10000 });
  const refusal = await textOf(page, "#title");
  if (refusal !== "HAR ALLEREDE STEMT") fail(`refusal title is "${refusal}"`);
  const red = await page.$eval("main", (m) => getComputedStyle(m).backgroundColor);
  if (red !== "rgb(253, 226, 226)") fail(`refused background is ${red}, not red`);
  const detail = await textOf(page, "#detail");
  if (!detail.includes("bord 1")) fail(`refusal detail "${detail}" does not name the table`);
  await page.screenshot({ path: `${out}/3-already-voted.png` });

  const counts = await textOf(page, "#counts");
  if (!counts.startsWith("Her: 1")) fail(`counts shown are "${counts}"`);
  if (!process.exitCode) console.log("browser flow passed: pending → green → already voted");
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
