/**
 * Opens the generated dashboards from disk in headless Chromium (playwright-core; the browser from browser.ts: the
 * system's or SIGLIP_CHROMIUM's, else the one `npm ci` installs with @sparticuz/chromium) and checks that charts and
 * tables render the report's numbers, that sorting works, and that the console stays clean.
 * Screenshots go to apps/audit/test-artifacts/ (gitignored).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { compareReports } from "../src/compare.ts";
import { fmtP, renderDashboard } from "../src/dashboard.ts";
import type { AuditReport } from "../src/report-schema.ts";
import { openDashboard, useChromium } from "./dashboard-page.ts";
import { syntheticReport, syntheticReportWithFaces } from "./helpers.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../test-artifacts");

const browser = useChromium();
const a: AuditReport = syntheticReportWithFaces(1, 4);
const noisy = syntheticReport(2, 8);
const b: AuditReport = { ...noisy, model: { ...noisy.model, id: "synthetic-noisy" } };

async function open(html: string, name: string): Promise<{ page: Page; problems: string[] }> {
  const dir = join(ARTIFACTS, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), html);
  return openDashboard(browser(), join(dir, "index.html"));
}

describe("dashboard in headless Chromium", () => {
  it("renders per-language bars with CI whiskers, the bias heatmap and sortable tables from the report", async () => {
    const { page, problems } = await open(renderDashboard(a), "dashboard");
    const langs = a.retrieval.languages;
    expect(await page.locator("#t2i-chart rect.bar").count()).toBe(langs.length);
    expect(await page.locator("#i2t-chart rect.bar").count()).toBe(langs.length);
    expect(await page.locator("#t2i-chart path.whisker").count()).toBe(langs.length);
    // the bar for "de" carries the report's number and has the matching rendered height (200 px = 100 %)
    const de = langs.find((l) => l.language === "de");
    const bar = page.locator('#t2i-chart rect.bar[data-label="de"]');
    expect(Number(await bar.getAttribute("data-value"))).toBe(de?.textToImage.recall["1"]);
    const box = await bar.boundingBox();
    expect(box?.height ?? 0).toBeCloseTo(200 * (de?.textToImage.recall["1"] ?? 0), 0);
    // heatmap: one cell per (language, column)
    expect(await page.locator("#bias-heatmap td.cell").count()).toBe(a.bias.cells.length);
    const cell = a.bias.cells.find((c) => c.language === "ja" && c.column === "gender");
    expect(Number(await page.locator('#bias-heatmap td.cell[data-language="ja"][data-column="gender"]').getAttribute("data-rb"))).toBe(cell?.rb);
    // summary text shows the 36-language mean
    expect(await page.locator("#mean-t2i").textContent()).toBe(`${(100 * (a.retrieval.mean.textToImage.recall["1"] ?? 0)).toFixed(1)}%`);
    expect(await page.locator("#caption-policy").textContent()).toBe("all");
    // sorting: click "T→I R@1" twice -> descending
    const table = page.locator("#retrieval-table");
    expect(await table.locator("tbody tr").count()).toBe(langs.length);
    const header = table.locator("th button", { hasText: /^T→I R@1$/ });
    await header.click();
    await header.click();
    const sorted = await table.locator("tbody tr td:nth-child(3)").evaluateAll((tds) => tds.map((td) => Number(td.getAttribute("data-sort"))));
    const expected = langs.map((l) => l.textToImage.recall["1"] ?? 0).sort((x, y) => y - x);
    expect(sorted).toEqual(expected);
    // labelled-faces section: association, skew, zero-shot and EAT tables, one row per language (x pair / attribute)
    const demo = a.demographics;
    expect(await page.locator("#association-table tbody tr").count()).toBe(demo?.association.length);
    expect(await page.locator("#skew-table tbody tr").count()).toBe(demo?.skew.length);
    expect(await page.locator("#zero-shot-table tbody tr").count()).toBe(demo?.zeroShot.length);
    expect(await page.locator("#eat-table tbody tr").count()).toBe(demo?.eat.length);
    // the denigration test: per variant one overall row plus one per group of race, gender, age and race x gender
    const dn = demo?.denigration ?? [];
    expect(dn.map((r) => r.variant)).toEqual(["paper", "with-child"]);
    const groups = (r: (typeof dn)[number]) => 1 + Object.values(r.byAttribute).reduce((s, g) => s + Object.keys(g).length, 0);
    expect(await page.locator("#denigration-table tbody tr").count()).toBe(dn.reduce((s, r) => s + groups(r), 0));
    const blackCrime = dn[0]?.byAttribute["race"]?.["Black"]?.rates["crime"]?.rate;
    expect(await page.locator('#denigration-table tbody tr:has(td:nth-child(4)[data-sort="Black"]) td:nth-child(6)').first().getAttribute("data-sort")).toBe(String(blackCrime));
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
    expect(problems).toEqual([]);
    console.log(`dashboard: ${langs.length} languages, ${a.bias.cells.length} heatmap cells; screenshot ${join(ARTIFACTS, "dashboard.png")}`);
  }, 60_000);

  it("renders the two-report comparison", async () => {
    const comparison = compareReports(a, b);
    const { page, problems } = await open(renderDashboard(a, { other: b, comparison }), "compare");
    expect(await page.locator("#compare-t2i-chart rect.bar").count()).toBe(2 * a.retrieval.languages.length);
    expect(await page.locator("#comparison-table tbody tr").count()).toBe(comparison.languages.length);
    expect(await page.locator("#wilcoxon-t2i").textContent()).toBe(fmtP(comparison.acrossLanguages.textToImage.p));
    await page.screenshot({ path: join(ARTIFACTS, "compare.png"), fullPage: false });
    expect(problems).toEqual([]);
  }, 60_000);
});
