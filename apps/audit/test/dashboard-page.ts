/**
 * What the dashboard browser tests share: one headless Chromium per test file (from browser.ts, the shared locator)
 * and opening a dashboard from disk while collecting what must not happen (console errors and warnings, page
 * errors, requests that are not file: URLs, failed requests).
 */
import { pathToFileURL } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "./browser.ts";

/** Registers beforeAll/afterAll for a 1300 x 900 browser; returns a getter of its context. */
export function useChromium(timeoutMs = 120_000): () => BrowserContext {
  let context: BrowserContext | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const b = await launchChromium({ viewport: { width: 1300, height: 900 } });
    context = b.context;
    close = b.close;
    console.log(`chromium: ${b.chromium.executablePath} (${b.chromium.source})`);
  }, timeoutMs);
  afterAll(async () => {
    await close?.();
  });
  return () => {
    if (context === undefined) throw new Error("the browser is not started");
    return context;
  };
}

/** Opens `file` (an index.html on disk) in a new page and waits for the first chart. */
export async function openDashboard(context: BrowserContext, file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) problems.push(`network request: ${r.url()}`);
  });
  page.on("requestfailed", (r) => problems.push(`failed request: ${r.url()}`));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("#t2i-chart rect.bar");
  return { page, problems };
}
