// The valgsekretær's screen in real headless Chromium, as a table's kiosk reaches it
// (issue 20, problems 3, 4 and 6): from the table screen's menu in the same window, PIN,
// touch-sized controls, PDFs inside the page, "Tilbage til bordet"; undo started from a
// voter found by search and confirmed with the voter's name; a voter without a card sent
// to a table by a button and shown there as pending, with the same verdict as a scan;
// the list of sends says where each stands and sends a cancelled one again.
//
// Usage: node secretary_screen.mjs http://127.0.0.1:PORT PIN NAME [OUT_DIR]
// (OUT_DIR: a screenshot of the search at 800×480, as the README shows it)
import { launch, fail, poster } from "./chromium.mjs";

const [base, pin, official, out] = process.argv.slice(2);
if (!base || !pin || !official) {
  console.error("usage: node secretary_screen.mjs BASE_URL PIN NAME");
  process.exit(2);
}

const api = poster(base);

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1024, height: 600 }, locale: "da-DK" });
  const page = await context.newPage();
  // A native dialog (alert/confirm/prompt) would be a desktop pop-up: none is expected.
  page.on("dialog", (d) => { fail(`native dialog: ${d.message()}`); d.dismiss(); });
  // A voter checked in at this table, to be undone from the search.
  await api("/api/scan", { code: "CARD-NORMAL" });
  await api("/api/confirm");

  // Problem 3: reached from the table screen's menu, in the same window.
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("place").textContent !== "…");
  await page.click("#menu-btn");
  await page.getByRole("link", { name: /Valgsekretær/ }).click({ timeout: 3000 });
  await page.waitForURL(base + "/sekretaer");
  if (context.pages().length !== 1) fail(`${context.pages().length} windows after opening the valgsekretær screen`);
  // Tap your name, then your PIN: the names come from the table, the hashes never.
  await page.getByRole("button", { name: official, exact: true }).click({ timeout: 3000 });
  await page.fill("#pin", pin);
  await page.click("#login-form button");
  await page.waitForSelector("#work:not([hidden])");

  // Touch-sized: every visible control at least 44 × 44 px (a radio button through its
  // label counts only if the button itself is that big).
  for (const sel of ["#paper", "#mode", "#brev"]) await page.$eval(sel, (d) => { d.open = true; });
  // The brevstemmer, as the valgstyrere decided them before opening.
  await page.waitForFunction(() => document.querySelector("#brev-table tbody").textContent.includes("Bent Bæk"), null, { timeout: 3000 })
    .catch(() => fail("the brevstemmer section does not list Bent Bæk"));
  const brev = await page.textContent("#brev-table tbody");
  if (!brev.includes("tages i betragtning")) fail(`brevstemmer: "${brev}"`);
  const small = await page.evaluate(() => [...document.querySelectorAll("button, input, select, a, summary")]
    .filter((el) => el.offsetParent !== null)
    .map((el) => { const r = el.getBoundingClientRect(); return { el: el.outerHTML.slice(0, 60), w: r.width, h: r.height }; })
    .filter((b) => b.w < 44 || b.h < 44));
  if (small.length) fail(`controls smaller than 44 px: ${JSON.stringify(small)}`);
  const blank = await page.$$eval("[target=_blank]", (els) => els.map((e) => e.outerHTML.slice(0, 80)));
  if (blank.length) fail(`links that open a new window: ${blank}`);

  // PDFs inside the page, with a way back.
  await page.getByRole("button", { name: /afkrydsede valgliste/ }).click({ timeout: 3000 });
  await page.waitForSelector("#viewer:not([hidden])", { timeout: 3000 });
  const src = await page.$eval("#viewer-frame", (f) => f.getAttribute("src") || "");
  if (!src.includes("/api/secretary/valgliste.pdf")) fail(`the viewer shows ${src}`);
  const pdf = await page.request.get(base + src);
  if ((await pdf.headers())["content-type"] !== "application/pdf") fail("the viewer's document is no PDF");
  if (context.pages().length !== 1) fail("the PDF opened a new window");
  await page.click("#viewer-close");
  await page.waitForSelector("#viewer", { state: "hidden" });
  // The closing report too, read in the page before the valgstyre signs it.
  await page.getByRole("button", { name: /afslutningsrapporten/ }).click({ timeout: 3000 });
  await page.waitForSelector("#viewer:not([hidden])", { timeout: 3000 });
  const reportSrc = await page.$eval("#viewer-frame", (f) => f.getAttribute("src") || "");
  if (!reportSrc.includes("/api/secretary/afslutning.pdf")) fail(`the viewer shows ${reportSrc}`);
  const report = await page.request.get(base + reportSrc);
  if ((await report.headers())["content-type"] !== "application/pdf") fail("the closing report is no PDF");
  if (!(await report.body()).subarray(0, 5).toString().startsWith("%PDF")) fail("the closing report is no PDF");
  if (context.pages().length !== 1) fail("the closing report opened a new window");
  await page.click("#viewer-close");
  await page.waitForSelector("#viewer", { state: "hidden" });

  // Problem 5 on this screen: a search that finds nobody names the word that did not match.
  await page.fill("#q", "Møller Xyzzyvej");
  await page.click("#search-form button");
  await page.waitForFunction(() => document.getElementById("msg").textContent.includes("Intet fundet for: Xyzzyvej"), null, { timeout: 3000 })
    .catch(async () => fail("a search for nobody said: " + (await page.textContent("#msg"))));
  await page.evaluate(() => { document.getElementById("msg").textContent = ""; });

  // Problem 4: undo from the voter found by search, confirmed with name, birthdate and
  // list number; the result names the voter.
  await page.fill("#q", "Møller");
  await page.click("#search-form button");
  await page.getByRole("button", { name: "Fortryd registrering" }).waitFor({ timeout: 3000 });
  // On the official 7" display the birthdate stays on one line (split at its hyphens,
  // "15-03-1980" reads as three numbers).
  await page.setViewportSize({ width: 800, height: 480 });
  const dateLines = await page.$eval("#results tbody tr td:nth-child(2)", (td) => {
    const r = document.createRange();
    r.selectNodeContents(td.querySelector("span") || td);
    return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size;
  });
  if (dateLines !== 1) fail(`the birthdate takes ${dateLines} lines at 800×480`);
  if (out) {
    // The screen as the README shows it, the search and its result in view.
    await page.$eval("#search-form", (f) => f.scrollIntoView());
    await page.screenshot({ path: `${out}/800x480-valgsekretaer.png` });
  }
  await page.setViewportSize({ width: 1024, height: 600 });
  await page.getByRole("button", { name: "Fortryd registrering" }).click({ timeout: 3000 });
  const question = await page.textContent("#ask-text");
  for (const part of ["Jørgen Åge Møller-Aagaard", "15-03-1980", "løbenr. 1"]) {
    if (!question.includes(part)) fail(`the undo question does not name ${part}: "${question}"`);
  }
  await page.fill("#ask-input", "forkert vælger godkendt");
  await page.click("#ask-ok");
  await page.waitForFunction(() => document.getElementById("msg").textContent.includes("fortrudt"), null, { timeout: 3000 });
  const said = await page.textContent("#msg");
  if (said !== "Registreringen af Jørgen Åge Møller-Aagaard er fortrudt.") fail(`undo said "${said}"`);
  // The page says "fortrudt" first and then searches again, so the results are
  // waited for: read at once they can still be the ones from before the undo.
  const statusCell = "#results tbody tr td:nth-child(5)";
  await page
    .waitForFunction((sel) => document.querySelector(sel)?.textContent === "Ikke stemt", statusCell, { timeout: 3000 })
    .catch(() => {});
  const status = await page.textContent(statusCell);
  if (status !== "Ikke stemt") fail(`after the undo the status is "${status}"`);

  // Problem 6: without a card, sent by a table's button; the table shows the voter as
  // pending with the verdict of a scan (an RV-only voter: KUN).
  await page.fill("#q", "Østergaard");
  await page.click("#search-form button");
  const buttons = await page.$$eval("#results td.actions button", (bs) => bs.map((b) => b.textContent));
  if (!buttons.includes("Bord 1 (dette bord)")) fail(`no button for this table: ${buttons}`);
  if (buttons.some((b) => /^Bord (?!1\b)/.test(b))) fail(`buttons for tables that do not exist: ${buttons}`);
  if (await page.$("#results input[type=number]")) fail("the table number is still typed in");
  await page.getByRole("button", { name: "Bord 1 (dette bord)" }).click({ timeout: 3000 });
  await page.click("#ask-ok");
  await page.waitForFunction(() => document.getElementById("msg").textContent.startsWith("Sendt til bord 1"), null, { timeout: 3000 });

  // The send is listed with where it stands (issue 20): waiting at table 1; cancelled
  // there, with the time and buttons to send again (touch-sized); sent again, the new
  // send waits and the cancelled one keeps no button.
  const sentRow = "#sent tbody tr:first-child";
  const sentStatus = () => page.textContent("#sent-box").catch(() => "(no list)");
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes("Venter ved bord 1"), sentRow, { timeout: 5000 })
    .catch(async () => fail(`the list of sends says: ${await sentStatus()}`));
  const sentName = await page.textContent(`${sentRow} td:nth-child(1)`);
  if (sentName !== "Signe Østergaard") fail(`the send names "${sentName}"`);
  await api("/api/cancel");
  await page.waitForFunction((sel) => /^Annulleret ved bord 1 kl\. \d\d\.\d\d – send igen$/.test(document.querySelector(sel + " td:nth-child(4)")?.textContent || ""), sentRow, { timeout: 5000 })
    .catch(async () => fail(`after the table cancelled, the list of sends says: ${await sentStatus()}`));
  const again = page.locator(sentRow).getByRole("button", { name: "Bord 1 (dette bord)" });
  const box = await again.boundingBox();
  if (!box || box.width < 44 || box.height < 44) fail(`the button to send again is ${JSON.stringify(box)}`);
  await again.click({ timeout: 3000 });
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll("#sent tbody tr");
    return rows.length === 2 && rows[0].textContent.includes("Venter ved bord 1") && rows[1].querySelectorAll("button").length === 0;
  }, null, { timeout: 5000 }).catch(async () => fail(`after sending again, the list of sends says: ${await sentStatus()}`));

  // Back to the table: the voter waits there, to approve like after a scan.
  await page.getByRole("link", { name: "Tilbage til bordet" }).click({ timeout: 3000 });
  await page.waitForURL(base + "/");
  await page.waitForFunction(() => document.querySelector("main").dataset.kind === "pending", null, { timeout: 3000 });
  const ballots = await page.textContent("#ballots");
  if (ballots !== "Udlevér KUN: Regionsrådsvalg") fail(`pending voter's ballots: "${ballots}"`);
  const name = await page.textContent("#name");
  if (!name.includes("Østergaard")) fail(`pending voter: "${name}"`);
  await page.click("#confirm");
  await page.waitForFunction(() => document.querySelector("main").dataset.kind === "admitted", null, { timeout: 3000 });

  if (!process.exitCode) console.log("secretary screen passed: reached from the menu, touch-sized, PDFs in the page, undo and check-in without card from the search, the sends listed and sent again, the brevstemmer listed");
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
