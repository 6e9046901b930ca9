// Loads one page in headless Chromium (Debian's, driven by playwright-core)
// and prints, as one JSON object on stdout, what a reader of it would get:
// the final URL and status, the element ids, the visible text, the text of
// every visible <pre>, every console error, page error and failed request,
// and every URL the page fetched. The Rust test decides what is right
// (tests/src/browser.rs runs this script).
//
// Usage: node check-page.cjs <url> <chromium> <fresh user data dir> [<screenshot.png>]

const { chromium } = require("playwright-core");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function main() {
  const [url, executablePath, userDataDir, screenshot] = process.argv.slice(2);
  if (!url || !executablePath || !userDataDir) {
    throw new Error("usage: check-page.cjs <url> <chromium> <user data dir> [<screenshot>]");
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors = [];
    const pageErrors = [];
    const failedRequests = [];
    const requests = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("request", (request) => requests.push(request.url()));
    page.on("requestfailed", (request) =>
      failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
    );
    const response = await page.goto(url, { waitUntil: "load" });
    const seen = await page.evaluate(() => {
      const visible = (element) => {
        const box = element.getBoundingClientRect();
        const style = getComputedStyle(element);
        return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
      };
      return {
        title: document.title,
        ids: [...document.querySelectorAll("[id]")].map((element) => element.id),
        text: document.body.innerText,
        visiblePre: [...document.querySelectorAll("pre")].filter(visible).map((pre) => pre.innerText),
      };
    });
    if (screenshot) {
      await page.screenshot({ path: screenshot });
    }
    const report = {
      status: response ? response.status() : 0,
      url: page.url(),
      ...seen,
      consoleErrors,
      pageErrors,
      failedRequests,
      requests,
    };
    process.stdout.write(JSON.stringify(report));
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
