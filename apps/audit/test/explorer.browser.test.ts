/**
 * The retrieval explorer, filters, heatmap details and keyboard use of the dashboard in headless Chromium
 * (playwright-core; the browser from browser.ts, `@siglip-edge/audit/testing`): a report and a comparison written as `siglip audit run` / `compare` write them (report.json,
 * index.html and real JPEG thumbnails of the fixture photos in thumbs/, copied beside the comparison), opened from
 * disk. Follows queries to their retrieved thumbnails, checks that every image on the page loads, and tabs through
 * the whole page. Screenshots go to apps/audit/test-artifacts/explorer/ (gitignored).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { compareReports } from "../src/compare.ts";
import { renderDashboard } from "../src/dashboard.ts";
import { copyThumbnails } from "../src/node/thumbnails.ts";
import { languageRankChanges, modelRankChanges } from "../src/rank-changes.ts";
import { parseReport, unpackBits, type AuditReport } from "../src/report-schema.ts";
import { openDashboard, useChromium } from "./dashboard-page.ts";
import { writeSyntheticRun } from "./helpers.ts";

/** The few DOM members the page callbacks use: this project compiles without the DOM lib; they run in Chromium. */
interface El {
  tagName: string;
  id: string;
  hidden: boolean;
  textContent: string | null;
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
  src: string;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  getClientRects(): { length: number };
  closest(selector: string): El | null;
  matches(selector: string): boolean;
  querySelectorAll(selector: string): ArrayLike<El>;
  blur(): void;
}
declare const document: { images: ArrayLike<El>; activeElement: El | null; body: El; querySelectorAll(selector: string): ArrayLike<El> };
declare function getComputedStyle(e: El): { outlineStyle: string; outlineWidth: string };

const ARTIFACTS = resolve(import.meta.dirname, "../test-artifacts/explorer");

const browser = useChromium();
let a: AuditReport;
let b: AuditReport;

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  a = await writeSyntheticRun(join(ARTIFACTS, "a"), 1, 3, "synthetic-a");
  b = await writeSyntheticRun(join(ARTIFACTS, "b"), 2, 6, "synthetic-b");
  const cmp = join(ARTIFACTS, "compare");
  mkdirSync(cmp, { recursive: true });
  expect(copyThumbnails(a, join(ARTIFACTS, "a"), cmp).copied).toBe(43);
  expect(copyThumbnails(b, join(ARTIFACTS, "b"), cmp)).toEqual({ copied: 0, missing: 0 }); // same photos, same names
  writeFileSync(join(cmp, "index.html"), renderDashboard(a, { other: b, comparison: compareReports(a, b) }));
  // a version 1 report: no gallery, explorer or per-image preferences
  const v1 = JSON.parse(JSON.stringify(a)) as AuditReport & Record<string, unknown>;
  v1.schemaVersion = 1;
  delete (v1 as Partial<AuditReport>).gallery;
  delete (v1 as Partial<AuditReport>).explorer;
  for (const c of v1.bias.cells) delete c.perImage;
  mkdirSync(join(ARTIFACTS, "v1"), { recursive: true });
  writeFileSync(join(ARTIFACTS, "v1", "index.html"), renderDashboard(parseReport(v1)));

}, 120_000);

const open = (dir: string) => openDashboard(browser(), join(ARTIFACTS, dir, "index.html"));

/** Every <img> on the page has loaded a real picture (none broken); returns how many there are. */
async function imagesLoaded(page: Page): Promise<number> {
  await page.waitForFunction(() => Array.from(document.images).every((im) => im.complete));
  const broken = await page.evaluate(() => Array.from(document.images).filter((im) => !(im.naturalWidth > 0 && im.naturalHeight > 0)).map((im) => im.src));
  expect(broken).toEqual([]);
  return page.evaluate(() => document.images.length);
}

const keyOf = (r: AuditReport, i: number) => r.gallery?.images[i]?.key;

describe("retrieval explorer in headless Chromium", () => {
  it("lists the largest rank changes between languages, filters by language and follows a query to its retrieved thumbnails", async () => {
    const { page, problems } = await open("a");
    const expected = languageRankChanges(a, "en", 20);
    // all languages: the 20 largest changes over every language
    expect(await page.locator("#explorer-list button.query").count()).toBe(20);
    await page.selectOption("#filter-language", "de");
    const de = expected.byLanguage["de"] ?? [];
    expect(de.length).toBeGreaterThan(0);
    const buttons = page.locator("#explorer-list button.query");
    expect(await buttons.count()).toBe(de.length);
    expect(await buttons.evaluateAll((bs) => bs.map((x) => x.getAttribute("data-language")))).toEqual(de.map(() => "de"));
    expect(await buttons.evaluateAll((bs) => bs.map((x) => Number(x.getAttribute("data-query"))))).toEqual(de.map((c) => c.query));
    // the first query: caption, ranks, translation group, true image and the two top-5 lists
    const q = de[0];
    if (q === undefined) throw new Error("no query");
    await buttons.first().click();
    const detail = page.locator("#query-detail");
    expect(await detail.locator("h3").textContent()).toBe(q.a.text);
    expect(await detail.locator("h3").getAttribute("lang")).toBe("de");
    expect(await detail.locator("figure.true img").getAttribute("data-image")).toBe(String(q.image));
    const lists = detail.locator("ol.retrieved");
    expect(await lists.count()).toBe(2);
    for (const [j, side] of [q.a, q.b].entries()) {
      const shown = await lists.nth(j).locator("img").evaluateAll((ims) => ims.map((im) => Number(im.getAttribute("data-image"))));
      expect(shown).toEqual(side.top);
      expect(shown).toHaveLength(5);
      // the true image is marked where it was retrieved within the top 5
      expect(await lists.nth(j).locator("li.hit img").count()).toBe(side.rank <= 5 ? 1 : 0);
    }
    expect(await detail.locator("h4").first().textContent()).toContain(`rank ${q.a.rank}`);
    // the translation group: the same image's caption in the other 35 languages (this dataset: translations)
    await detail.locator("summary").click();
    const group = await detail.locator("ul.group li span").evaluateAll((ss) => ss.map((x) => [x.getAttribute("lang"), x.textContent]));
    expect(group.length).toBeGreaterThanOrEqual(30);
    expect(group.find(([l]) => l === "en")?.[1]).toBe(q.b.text);
    const loaded = await imagesLoaded(page);
    expect(loaded).toBe(11); // the true image + 2 x 5 retrieved
    await page.screenshot({ path: join(ARTIFACTS, "explorer-languages.png"), fullPage: false });
    console.log(`explorer (languages): de has ${de.length} changed queries; first "${q.a.text}" rank ${q.a.rank} vs en ${q.b.rank}; ${loaded} thumbnails loaded`);
    expect(problems).toEqual([]);
  }, 60_000);

  it("heatmap cells open their prompts and per-image preferences; the prompt-set filter hides other columns", async () => {
    const { page, problems } = await open("a");
    const cells = page.locator("#bias-heatmap td.cell");
    expect(await cells.count()).toBe(a.bias.cells.length);
    await page.selectOption("#filter-promptset", "age");
    const visible = await cells.evaluateAll((cs) => cs.filter((c) => !(c as unknown as El).hidden).map((c) => c.getAttribute("data-promptset")));
    expect(visible).toEqual(a.bias.cells.filter((c) => c.promptSet === "age").map(() => "age"));
    expect(await page.locator("#bias-table tbody tr:not([hidden])").count()).toBe(a.bias.cells.filter((c) => c.promptSet === "age").length);
    await page.selectOption("#filter-language", "ja");
    expect(await page.locator("#bias-table tbody tr:not([hidden])").count()).toBe(1);
    const cell = a.bias.cells.find((c) => c.language === "ja" && c.column === "age");
    await page.locator('#bias-heatmap td.cell[data-language="ja"][data-column="age"]').click();
    const detail = page.locator("#bias-detail");
    expect(await detail.locator("h3").textContent()).toBe(`ja · age: ${cell?.first} vs ${cell?.second}`);
    const prompts = await detail.locator("ul.prompt-list").evaluateAll((uls) => uls.map((u) => Array.from((u as unknown as El).querySelectorAll("li"), (li) => li.textContent)));
    expect(prompts).toEqual([cell?.prompts.first, cell?.prompts.second]);
    const shown = await detail.locator("ol.thumbs:not(.rest)").evaluateAll((ols) => ols.map((o) => Array.from((o as unknown as El).querySelectorAll("img"), (im) => Number(im.getAttribute("data-image")))));
    expect(shown).toEqual([cell?.perImage?.strongest.first.map((x) => x.image), cell?.perImage?.strongest.second.map((x) => x.image)]);
    expect(await detail.locator("h4", { hasText: "Per-image preferences" }).textContent()).toContain(`of ${a.dataset.biasImages} images`);
    // with 41 bias images (<= 200) the rest of them follow, on the side the bitset puts them: every image once
    const rest = await detail.locator("ol.thumbs.rest").evaluateAll((ols) => ols.map((o) => Array.from((o as unknown as El).querySelectorAll("img"), (im) => Number(im.getAttribute("data-image")))));
    const objects = a.bias.images ?? [];
    const bits = unpackBits(cell?.perImage?.preferFirst ?? "", objects.length);
    const side = (want: number) => objects.filter((_, j) => bits[j] === want);
    expect([...(shown[0] ?? []), ...(rest[0] ?? [])].sort((x, y) => x - y)).toEqual(side(1));
    expect([...(shown[1] ?? []), ...(rest[1] ?? [])].sort((x, y) => x - y)).toEqual(side(0));
    const loaded = await imagesLoaded(page);
    expect(loaded).toBe(objects.length);
    await detail.screenshot({ path: join(ARTIFACTS, "bias-detail.png") });
    expect(problems).toEqual([]);
  }, 60_000);

  it("opens the comparison: model A vs B per language, each query's two top-5 lists as loaded thumbnails", async () => {
    const { page, problems } = await open("compare");
    expect(await page.locator("#explorer-mode option").count()).toBe(2);
    expect(await page.locator("#explorer-mode").inputValue()).toBe("0"); // models first
    const expected = modelRankChanges(a, b, 20);
    await page.selectOption("#filter-language", "fr");
    const fr = expected.byLanguage["fr"] ?? [];
    const buttons = page.locator("#explorer-list button.query");
    expect(await buttons.count()).toBe(fr.length);
    for (const i of [0, fr.length - 1]) {
      const q = fr[i];
      if (q === undefined) continue;
      await buttons.nth(i).click();
      const detail = page.locator("#query-detail");
      expect(await detail.locator("h3").textContent()).toBe(q.a.text);
      const lists = detail.locator("ol.retrieved");
      expect(await lists.nth(0).locator("img").evaluateAll((ims) => ims.map((im) => Number(im.getAttribute("data-image"))))).toEqual(q.a.top);
      expect(await lists.nth(1).locator("img").evaluateAll((ims) => ims.map((im) => Number(im.getAttribute("data-image"))))).toEqual(q.b.top);
      expect(await detail.locator("h4").nth(0).textContent()).toBe(`A: synthetic-a: true image at rank ${q.a.rank}`);
      expect(await detail.locator("h4").nth(1).textContent()).toBe(`B: synthetic-b: true image at rank ${q.b.rank}`);
      expect(await detail.locator("figure.true img").getAttribute("alt")).toBe(`image ${keyOf(a, q.image)}`);
      expect(await imagesLoaded(page)).toBe(11);
    }
    // switching to the languages mode lists A's language changes
    await page.selectOption("#explorer-mode", "1");
    expect(await buttons.count()).toBe(languageRankChanges(a, "en", 20).byLanguage["fr"]?.length);
    await page.screenshot({ path: join(ARTIFACTS, "explorer-compare.png"), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);

  it("is usable with the keyboard: Tab reaches every control, focus is visible, every control has a role and a name", async () => {
    const { page, problems } = await open("compare");
    await page.selectOption("#filter-language", "de");
    // open a query with the keyboard so its detail (with a <details> control) is on the page too
    await page.locator("#explorer-list button.query").first().focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#query-detail h3").count()).toBe(1);
    await page.evaluate(() => document.activeElement?.blur());
    const controls = await page.evaluate(() => {
      const sel = "button, select, summary, input, a[href], [tabindex]:not([tabindex='-1'])";
      const all = Array.from(document.querySelectorAll(sel)).filter((e) => e.getClientRects().length > 0 && !e.closest("[hidden]"));
      all.forEach((e, i) => e.setAttribute("data-kb", String(i)));
      return all.map((e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : ""));
    });
    expect(controls.length).toBeGreaterThan(40);
    const reached = new Set<string>();
    const unfocusedOutline: string[] = [];
    await page.locator("h1").click(); // start from the top of the page
    for (let i = 0; i < controls.length + 40 && reached.size < controls.length; i++) {
      await page.keyboard.press("Tab");
      const info = await page.evaluate(() => {
        const e = document.activeElement;
        if (e === null || e === document.body) return null;
        const cs = getComputedStyle(e);
        return { kb: e.getAttribute("data-kb"), visible: e.matches(":focus-visible") && cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2, tag: e.tagName };
      });
      if (info?.kb == null) continue;
      reached.add(info.kb);
      if (!info.visible) unfocusedOutline.push(`${info.tag} ${info.kb}`);
    }
    const missed = controls.filter((_, i) => !reached.has(String(i)));
    expect(missed).toEqual([]);
    expect(unfocusedOutline).toEqual([]);
    // the heatmap is one tab stop; arrows move inside it and Enter opens the cell
    const first = page.locator("#bias-heatmap td.cell[tabindex='0']");
    await first.focus();
    const before = await first.getAttribute("data-column");
    await page.keyboard.press("ArrowRight");
    const now = page.locator("#bias-heatmap td.cell:focus");
    expect(await now.getAttribute("data-column")).not.toBe(before);
    expect(await page.locator("#bias-heatmap td.cell[tabindex='0']").count()).toBe(1);
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("End");
    await page.keyboard.press("Enter");
    const col = await page.locator("#bias-heatmap td.cell:focus").getAttribute("data-column");
    expect(col).toBe(a.bias.columns[a.bias.columns.length - 1]);
    expect(await page.locator("#bias-detail h3").textContent()).toContain(`de · ${col}`); // the language filter keeps only de
    // sorting from the keyboard
    await page.locator("#retrieval-table th button", { hasText: /^T→I R@1$/ }).focus();
    await page.keyboard.press("Enter");
    expect(await page.locator("#retrieval-table th", { hasText: /^T→I R@1$/ }).getAttribute("aria-sort")).toBe("ascending");
    // roles and accessible names (Chromium's accessibility tree through Playwright's ARIA snapshot)
    const snapshot = await page.locator("body").ariaSnapshot();
    const unnamed = snapshot.split("\n").filter((l) => /^\s*- (button|combobox|gridcell|link|textbox|checkbox)\s*(\[.*\])?:?\s*$/.test(l));
    expect(unnamed).toEqual([]);
    expect(await page.getByRole("combobox", { name: "Language" }).count()).toBe(1);
    expect(await page.getByRole("combobox", { name: "Prompt set" }).count()).toBe(1);
    expect(await page.getByRole("combobox", { name: "Compare" }).count()).toBe(1);
    expect(await page.getByRole("grid").count()).toBe(1);
    expect(await page.getByRole("region", { name: "Selected query" }).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "keyboard.png"), fullPage: false });
    console.log(`keyboard: ${controls.length} controls, all reached by Tab with a visible focus outline`);
    expect(problems).toEqual([]);
  }, 120_000);

  it("still opens a schemaVersion 1 report: no explorer lists, prompts without per-image preferences", async () => {
    const { page, problems } = await open("v1");
    expect(await page.locator("#explorer-note").textContent()).toContain("schemaVersion 1");
    expect(await page.locator("#schema-version").textContent()).toBe("1");
    await page.locator("#bias-heatmap td.cell").first().click();
    expect(await page.locator("#bias-detail .note").textContent()).toContain("not recorded");
    expect(await page.locator("#bias-detail ul.prompt-list").count()).toBe(2);
    expect(problems).toEqual([]);
  }, 60_000);
});
