// Swagger UI as a person uses it, in headless Debian chromium: open /docs, press Authorize and
// paste a token, open "create room", press "Try it out", write a JSON body, press Execute, and
// read the 200 answer and its live_id on the page. Run by tests/e2e/browser.rs, which spawns the
// app and passes, in the environment:
//   LIVEROOM_BASE_URL  the app, e.g. http://127.0.0.1:41234
//   TOKEN              a token from `liveroom token`
//   SCREENSHOT         where to save a screenshot of the answer (PNG)
//   CHROMIUM           the browser (default /usr/bin/chromium)
// Prints one JSON line: {"status": ..., "live_id": ..., "title": ...}.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.LIVEROOM_BASE_URL;
const token = process.env.TOKEN;
const screenshot = process.env.SCREENSHOT;
if (!base || !token || !screenshot) {
  console.error("swagger.mjs: LIVEROOM_BASE_URL, TOKEN and SCREENSHOT are required");
  process.exit(2);
}
const title = "Swagger直播";
const STEP = 20_000;

// A fresh profile each run; Debian's chromium as root needs --no-sandbox.
const profile = mkdtempSync(join(tmpdir(), "liveroom-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let failed = false;
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(STEP);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  await page.goto(`${base}/docs`);
  await page.locator(".swagger-ui .info .title").waitFor();

  // Authorize: the bearer scheme's dialog, the token pasted, then closed.
  await page.locator(".scheme-container button.authorize").click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.locator("input").first().fill(token);
  await dialog.locator("button.modal-btn.auth.authorize").click();
  await dialog.locator("button.modal-btn.auth.btn-done").click();
  await dialog.waitFor({ state: "detached" });

  // Rooms → POST /client/live/room/instance (创建直播间): open it, Try it out, the body, Execute.
  const op = page.locator("#operations-Rooms-createRoom");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  const body = op.locator("textarea.body-param__text");
  await body.fill(JSON.stringify({ title, notice: "直播公告", extends: { age: "18" } }, null, 2));
  await op.locator("button.execute").click();

  // The answer as the page shows it: its status and the JSON body.
  const answer = op.locator(".live-responses-table .response").first();
  await answer.locator(".response-col_status").waitFor();
  const status = (await answer.locator(".response-col_status").innerText()).trim();
  const text = await answer.locator(".response-col_description pre.microlight").first().innerText();
  await answer.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });

  let shown;
  try {
    shown = JSON.parse(text);
  } catch (e) {
    throw new Error(`the page shows no JSON answer (${e.message}): ${text}`);
  }
  if (problems.length > 0) {
    throw new Error(problems.join("\n"));
  }
  console.log(
    JSON.stringify({
      status: Number(status),
      code: shown.code,
      live_id: shown.data?.live_id ?? null,
      title: shown.data?.title ?? null,
      anchor: shown.data?.anchor_info?.user_id ?? null,
    }),
  );
} catch (e) {
  failed = true;
  console.error(`swagger.mjs: ${e.stack || e}`);
  try {
    const page = browser.pages()[0];
    if (page) {
      await page.screenshot({ path: screenshot, fullPage: true });
      console.error(`swagger.mjs: the page as it was: ${screenshot}`);
    }
  } catch {
    // the screenshot of a failure is a courtesy
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
