// The election office in real headless Chromium: log in to the central tally, see the
// totals of the polling place and the turnout chart (SVG drawn by the page itself).
// A screenshot goes to the folder given as last argument.
//
// Usage: node central_dashboard.mjs http://127.0.0.1:PORT USER PASSWORD OUT_DIR
import { launch, fail } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [base, user, password, out] = process.argv.slice(2);
if (!base || !user || !password || !out) {
  console.error("usage: node central_dashboard.mjs BASE_URL USER PASSWORD OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const browser = await launch();

const text = async (page, sel) => ((await page.textContent(sel)) ?? "").trim();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 }, locale: "da-DK" });
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
  await page.goto(base + "/");
  await page.waitForSelector("#login:not([hidden])");

  // A wrong password is refused in Danish.
  await page.fill("#user", user);
  await page.fill("#password", "forkert");
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error").textContent !== "");
  const refused = await text(page, "#login-error");
  if (refused !== "Forkert brugernavn eller adgangskode.") fail(`login error is "${refused}"`);

  await page.fill("#password", password);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#dashboard:not([hidden])");
  // The table's four check-ins reach the central by push; the page refreshes itself.
  await page.waitForFunction(
    () => document.querySelector('#places tr[data-place="1"] td.checked-in')?.textContent === "4",
    null, { timeout: 15000 });
  const percent = await text(page, '#places tr[data-place="1"] td.percent');
  // 4 checked in + 3 brevstemmer of 30 eligible.
  if (percent !== "23,3 %") fail(`turnout of place 1 is "${percent}"`);
  const mode = await text(page, '#places tr[data-place="1"] td.mode');
  if (mode !== "frit bordvalg") fail(`mode is "${mode}"`);
  const total = await text(page, "#total-checked-in");
  if (total !== "4") fail(`municipality checked in is "${total}"`);
  const health = await text(page, '#tables tr[data-place="1"][data-table="1"] td.health');
  if (health !== "forbundet") fail(`table 1 health is "${health}"`);
  if (!(await page.isVisible("#test-banner"))) fail("the test-mode banner is not shown");

  // The chart: one line per polling place and a thick one for the municipality.
  const paths = await page.$$eval("#chart svg path.series", (ps) => ps.map((p) => ({
    cls: p.getAttribute("class"), d: p.getAttribute("d") })));
  if (paths.length !== 3) fail(`chart has ${paths.length} lines, not 3`);
  const totalLine = paths.find((p) => p.cls.includes("total"));
  if (!totalLine || !totalLine.d.startsWith("M")) fail("no municipality line in the chart");
  const legend = await text(page, "#legend");
  if (!legend.includes("Hele kommunen")) fail(`legend is "${legend}"`);
  if (outside.length) fail("requests outside the central: " + outside.join(", "));
  await page.screenshot({ path: `${out}/central-dashboard.png`, fullPage: true });
  if (!process.exitCode) console.log("dashboard passed: login, totals, chart");
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
