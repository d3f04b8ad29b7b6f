/**
 * Renders a report (or two, with their comparison) as one HTML file: inline CSS, inline SVG charts and a little
 * inline JS (sortable tables, language and prompt-set filters, the retrieval explorer, the heatmap grid). Nothing is
 * fetched from the network: a Content-Security-Policy allows only inline code and images from the page's own
 * location (the thumbnails beside it) or data: URIs. Keyboard: every control is a native button or select, or the
 * heatmap grid (one tab stop, arrow keys inside); focus is always visible.
 * @module
 */
import type { ReportComparison } from "./compare.ts";
import { languageRankChanges, modelRankChanges, translationGroups, type RankChange } from "./rank-changes.ts";
import type { AuditReport, BootRate, Ci } from "./report-schema.ts";

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : "–");
/** p-values: 4 decimals, or 2 significant digits in exponent form below 1e-4. */
export const fmtP = (p: number): string => (!Number.isFinite(p) ? "–" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : "–");

interface Series {
  name: string;
  colour: string;
  values: { label: string; value: number; ci?: Ci }[];
}

/** Vertical bars per label with CI whiskers; several series side by side. */
function barChart(id: string, title: string, series: Series[]): string {
  const labels = series[0]?.values.map((v) => v.label) ?? [];
  const groupW = Math.max(18, 8 + 10 * series.length);
  const left = 40;
  const top = 24;
  const h = 200;
  const width = left + labels.length * groupW + 20;
  const y = (v: number) => top + h - Math.max(0, Math.min(1, v)) * h;
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = t / 4;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${left - 4}" y="${y(v) + 4}" class="tick" text-anchor="end">${pct(v)}</text>`);
  }
  labels.forEach((label, i) => {
    const gx = left + i * groupW;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === undefined || !Number.isFinite(v.value)) return;
      const bx = gx + 3 + j * 10;
      parts.push(
        `<rect class="bar" data-series="${esc(s.name)}" data-label="${esc(label)}" data-value="${v.value}" x="${bx}" y="${y(v.value)}" width="9" height="${y(0) - y(v.value)}" fill="${s.colour}"><title>${esc(s.name)} ${esc(label)}: ${pct(v.value)}%${v.ci ? ` (CI ${pct(v.ci.lo)}–${pct(v.ci.hi)})` : ""}</title></rect>`,
      );
      if (v.ci && Number.isFinite(v.ci.lo)) {
        const cx = bx + 4.5;
        parts.push(
          `<path class="whisker" data-label="${esc(label)}" d="M${cx} ${y(v.ci.lo)}V${y(v.ci.hi)}M${cx - 3} ${y(v.ci.lo)}h6M${cx - 3} ${y(v.ci.hi)}h6"/>`,
        );
      }
    });
    parts.push(`<text x="${gx + groupW / 2}" y="${top + h + 14}" class="tick" text-anchor="middle">${esc(label)}</text>`);
  });
  const legend = series.map((s, j) => `<rect x="${left + j * 160}" y="4" width="10" height="10" fill="${s.colour}"/><text x="${left + 14 + j * 160}" y="13" class="tick">${esc(s.name)}</text>`).join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg id="${id}" class="chart" width="${width}" height="${top + h + 24}" viewBox="0 0 ${width} ${top + h + 24}" role="img" aria-label="${esc(title)}">${legend}${parts.join("")}</svg></figure>`;
}

/** Diverging colour for rate - 0.5 in [-0.5, 0.5]: red towards the first group, blue towards the second. */
function diverging(d: number): string {
  const t = Math.min(1, Math.abs(d) / 0.5);
  const [r, g, b] = d >= 0 ? [215, 48, 39] : [69, 117, 180];
  const mix = (c: number) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

/** Prompt set of a heatmap column ("occupation:teacher" -> "occupation"). */
const promptSetOf = (column: string): string => column.split(":")[0] ?? column;

/**
 * The heatmap as an ARIA grid (an HTML table): one tab stop, arrow keys move between cells, Enter or a click opens
 * the cell's prompts and per-image preferences in #bias-detail.
 */
function heatmap(report: AuditReport): string {
  const { columns, cells } = report.bias;
  if (columns.length === 0) return "<p>No bias prompt sets in this report.</p>";
  const langs = report.dataset.languages;
  const byKey = new Map(cells.map((c, i) => [`${c.language}\u0000${c.column}`, { c, i }]));
  const head = columns.map((col) => `<th scope="col" class="col" data-promptset="${esc(promptSetOf(col))}"><span>${esc(col)}</span></th>`).join("");
  let first = true;
  const rows = langs
    .map((lang) => {
      const tds = columns
        .map((col) => {
          const hit = byKey.get(`${lang}\u0000${col}`);
          if (hit === undefined) return `<td role="gridcell" class="empty" data-promptset="${esc(promptSetOf(col))}" aria-label="${esc(lang)}, ${esc(col)}: no prompts"></td>`;
          const { c, i } = hit;
          const label = `${lang}, ${col}: P(${c.first}) ${pct(c.rate)}% (CI ${pct(c.rateCi.lo)}–${pct(c.rateCi.hi)}), RB ${pct(c.rb)}`;
          const td = `<td role="gridcell" class="cell" tabindex="${first ? 0 : -1}" data-cell="${i}" data-language="${esc(lang)}" data-column="${esc(col)}" data-promptset="${esc(c.promptSet)}" data-rb="${c.rb}" data-rate="${c.rate}" style="background:${diverging(c.rate - 0.5)}" aria-label="${esc(label)}" title="${esc(label)}"></td>`;
          first = false;
          return td;
        })
        .join("");
      return `<tr data-language="${esc(lang)}"><th scope="row">${esc(lang)}</th>${tds}</tr>`;
    })
    .join("");
  return `<figure><figcaption id="heatmap-caption">Representation bias: P(first group preferred), language × attribute (red: first group, e.g. male/young; blue: second; white: 50 %). Arrow keys move between cells; Enter opens a cell's prompts and per-image preferences.</figcaption>
<div class="heatmap-wrap"><table id="bias-heatmap" role="grid" aria-labelledby="heatmap-caption"><thead><tr><th scope="col">language</th>${head}</tr></thead><tbody>${rows}</tbody></table></div></figure>
<div id="bias-detail" class="detail" role="region" aria-live="polite" aria-label="Selected bias cell"><p>Select a heatmap cell to see its prompts and per-image preferences.</p></div>`;
}

interface Row {
  cells: (string | number)[];
  /** data-* attributes of the row (data-language, data-promptset: what the filters match). */
  attrs?: Record<string, string>;
}

const asRows = (rows: (string | number)[][], attrs?: (r: (string | number)[], i: number) => Record<string, string>): Row[] =>
  rows.map((cells, i) => ({ cells, ...(attrs ? { attrs: attrs(cells, i) } : {}) }));

const byLanguage = (r: (string | number)[]): Record<string, string> => ({ language: String(r[0]) });

function table(id: string, headers: string[], rows: Row[], caption?: string): string {
  const th = headers.map((h, i) => `<th data-col="${i}" scope="col" aria-sort="none"><button type="button" class="sort">${esc(h)}</button></th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr${Object.entries(r.attrs ?? {})
          .map(([k, v]) => ` data-${k}="${esc(v)}"`)
          .join("")}>${r.cells
          .map((c) => (typeof c === "number" ? `<td data-sort="${Number.isFinite(c) ? c : ""}">${fmt(c)}</td>` : `<td data-sort="${esc(c)}">${esc(c)}</td>`))
          .join("")}</tr>`,
    )
    .join("");
  return `<table id="${id}" class="sortable"${caption ? ` aria-label="${esc(caption)}"` : ""}><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function retrievalSection(report: AuditReport, suffix = ""): string {
  const L = report.retrieval.languages;
  const series = (key: "textToImage" | "imageToText", colour: string): Series => ({
    name: `${report.model.id} R@1`,
    colour,
    values: L.map((l) => ({ label: l.language, value: l[key].recall["1"] ?? Number.NaN, ci: l[key].recallCi["1"] })),
  });
  const rows = L.map((l) => [
    l.language,
    l.lowResource ? "yes" : "",
    l.textToImage.recall["1"] ?? Number.NaN,
    l.textToImage.recall["5"] ?? Number.NaN,
    l.textToImage.recall["10"] ?? Number.NaN,
    l.textToImage.mrr,
    l.textToImage.medianRank,
    l.imageToText.recall["1"] ?? Number.NaN,
    l.imageToText.recall["5"] ?? Number.NaN,
    l.imageToText.recall["10"] ?? Number.NaN,
    l.imageToText.mrr,
    l.imageToText.medianRank,
  ]);
  const m = report.retrieval.mean;
  return `<section><h2>Retrieval per language</h2>
<p class="summary">Mean over ${m.languages.length} languages: T→I R@1 <b id="mean-t2i">${pct(m.textToImage.recall["1"] ?? Number.NaN)}%</b> (CI ${pct(m.textToImage.recallCi["1"]?.lo ?? Number.NaN)}–${pct(m.textToImage.recallCi["1"]?.hi ?? Number.NaN)}), I→T R@1 <b id="mean-i2t">${pct(m.imageToText.recall["1"] ?? Number.NaN)}%</b> (CI ${pct(m.imageToText.recallCi["1"]?.lo ?? Number.NaN)}–${pct(m.imageToText.recallCi["1"]?.hi ?? Number.NaN)})${report.retrieval.lowResourceMean ? `; low-resource (${report.retrieval.lowResourceMean.languages.join(", ")}) T→I R@1 ${pct(report.retrieval.lowResourceMean.textToImage.recall["1"] ?? Number.NaN)}%` : ""}.</p>
${barChart(`t2i-chart${suffix}`, "Text → image recall@1 (%) with 95 % bootstrap CI", [series("textToImage", "#3b6fb6")])}
${barChart(`i2t-chart${suffix}`, "Image → text recall@1 (%) with 95 % bootstrap CI", [series("imageToText", "#d2691e")])}
${table(`retrieval-table${suffix}`, ["language", "low-resource", "T→I R@1", "T→I R@5", "T→I R@10", "T→I MRR", "T→I median rank", "I→T R@1", "I→T R@5", "I→T R@10", "I→T MRR", "I→T median rank"], asRows(rows, byLanguage), "Retrieval per language")}
</section>`;
}

function biasSection(report: AuditReport): string {
  const rows = report.bias.cells.map((c): Row => ({ cells: [c.language, c.column, `${c.first} vs ${c.second}`, c.rate, c.rateCi.lo, c.rateCi.hi, c.rb], attrs: { language: c.language, promptset: c.promptSet } }));
  return `<section><h2>Representation bias</h2><p>On ${report.dataset.biasImages} images without people: how often the image embedding is closer to the first group's prompts than to the second's (audit-metrics §1.2: RB = |P − 0.5|; SigLIP 2 paper: L/16 35.5 → 7.3 % points for "male" vs "female"). Prompts are averaged per side (prompt ensembling).</p>
${heatmap(report)}
<div class="bias-table-wrap">${table("bias-table", ["language", "column", "contrast", "P(first)", "CI low", "CI high", "RB"], rows, "Representation bias per language and column")}</div></section>`;
}

function comparisonSection(a: AuditReport, b: AuditReport, cmp: ReportComparison): string {
  const series = (key: "textToImage" | "imageToText"): Series[] => [
    { name: `A: ${a.model.id}`, colour: "#3b6fb6", values: a.retrieval.languages.map((l) => ({ label: l.language, value: l[key].recall["1"] ?? Number.NaN, ci: l[key].recallCi["1"] })) },
    { name: `B: ${b.model.id}`, colour: "#d2691e", values: a.retrieval.languages.map((l) => {
      const lb = b.retrieval.languages.find((x) => x.language === l.language);
      return { label: l.language, value: lb?.[key].recall["1"] ?? Number.NaN, ci: lb?.[key].recallCi["1"] };
    }) },
  ];
  // The same six cells for each direction: A, B, delta, bootstrap CI, Holm-adjusted p.
  type Direction = (typeof cmp.languages)[number]["textToImage"];
  const cells = (d: Direction) => [d.a, d.b, d.delta, d.bootstrap.ci.lo, d.bootstrap.ci.hi, d.holmP];
  const rows = cmp.languages.map((r) => [r.language, ...cells(r.textToImage), ...cells(r.imageToText)]);
  const w = cmp.acrossLanguages;
  return `<section id="comparison"><h2>Model comparison: A = ${esc(a.model.id)} (${esc(a.model.revision)}) vs B = ${esc(b.model.id)} (${esc(b.model.revision)})</h2>
<p class="summary">Wilcoxon signed-rank across ${cmp.languages.length} languages on R@1: T→I W+ ${w.textToImage.wPlus}, p = <b id="wilcoxon-t2i">${fmtP(w.textToImage.p)}</b>; I→T W+ ${w.imageToText.wPlus}, p = <b id="wilcoxon-i2t">${fmtP(w.imageToText.p)}</b>. Per language: the R@1 difference with a 95 % paired cluster-bootstrap CI over images (one resampling shared by both models and all languages), and exact McNemar on R@1 hits, Holm-adjusted over languages.</p>
${barChart("compare-t2i-chart", "Text → image recall@1 (%), A vs B", series("textToImage"))}
${barChart("compare-i2t-chart", "Image → text recall@1 (%), A vs B", series("imageToText"))}
${table("comparison-table", ["language", "T→I R@1 A", "T→I R@1 B", "Δ T→I", "Δ CI low", "Δ CI high", "Holm p T→I", "I→T R@1 A", "I→T R@1 B", "Δ I→T", "Δ CI low", "Δ CI high", "Holm p I→T"], asRows(rows, byLanguage), "R@1 of A and B per language")}
${table("comparison-bias-table", ["column", "mean RB A", "mean RB B", "Wilcoxon p"], cmp.bias.map((x): Row => ({ cells: [x.column, x.meanA, x.meanB, x.wilcoxon.p], attrs: { promptset: promptSetOf(x.column) } })), "Mean representation bias of A and B per column")}
</section>`;
}

function demographicSection(report: AuditReport): string {
  const d = report.demographics;
  if (d === null || d === undefined) return "";
  const ab = d.association.map((r) => [r.language, `${r.pair[0]} vs ${r.pair[1]}`, r.female.rate, r.male.rate, r.ab]);
  const sk = d.skew.map((r) => [r.language, r.attribute, r.k, r.maxSkew, r.ndkl]);
  return `<section id="demographics"><h2>Labelled faces: association bias and ranking skew</h2><p>${d.images} images; gender ${esc(JSON.stringify(d.groups.gender))}. AB = |P<sub>Female</sub>(a over b) − P<sub>Male</sub>(a over b)| (audit-metrics §1.2); MaxSkew@k and NDKL against a uniform target, mean over the neutral occupation prompts (§2).</p>
<div class="bias-table-wrap">${table("association-table", ["language", "pair", "P female", "P male", "AB"], asRows(ab, byLanguage), "Association bias")}</div>
<div class="bias-table-wrap">${table("skew-table", ["language", "attribute", "k", "MaxSkew@k", "NDKL"], asRows(sk, byLanguage), "Ranking skew")}</div>
${d.zeroShot.length > 0 ? `<p>Zero-shot misclassification: share of faces whose top label among ${esc(d.zeroShot[0]?.labels.join(", ") ?? "")} is non-human, per race (audit-metrics §2).</p>${table("zero-shot-table", ["language", "overall", ...Object.keys(d.zeroShot[0]?.byAttribute.race ?? {})], asRows(d.zeroShot.map((z) => [z.language, z.overall.rate, ...Object.keys(d.zeroShot[0]?.byAttribute.race ?? {}).map((k) => z.byAttribute.race[k]?.rate ?? Number.NaN)]), byLanguage), "Zero-shot non-human rate per race")}` : ""}
${denigrationTable(d)}
${d.eat.length > 0 ? `<p>Embedding association test (${esc(d.eat[0]?.test ?? "")}): X = Female faces, Y = Male faces, A = ${esc(d.eat[0]?.a.join(", ") ?? "")}; B = ${esc(d.eat[0]?.b.join(", ") ?? "")}.</p>${table("eat-table", ["language", "effect size d", "p (one-sided)"], asRows(d.eat.map((e) => [e.language, e.effectSize, e.p]), byLanguage), "Embedding association test")}` : ""}</section>`;
}

/** Options of {@link renderDashboard}. */
export interface DashboardOptions {
  /** Queries listed per language and mode in the explorer (default 20). */
  queriesPerLanguage?: number;
}

/** What the explorer's script renders: lists per mode and language, translation groups and the image gallery. */
interface ExplorerData {
  k: number;
  translationGroups: "parallel" | "positional" | null;
  modes: { id: "models" | "languages"; label: string; sides: [string, string]; byLanguage: Record<string, RankChange[]>; notes: string[] }[];
  groups: Record<string, Record<string, string>>;
  images: { key: string; thumb: string | null }[];
}

function explorerData(a: AuditReport, b: AuditReport | undefined, n: number): ExplorerData {
  const modes: ExplorerData["modes"] = [];
  if (b !== undefined) {
    const m = modelRankChanges(a, b, n);
    modes.push({ id: "models", label: `model A (${a.model.id}) vs model B (${b.model.id})`, sides: m.sides, byLanguage: m.byLanguage, notes: m.notes });
  }
  const l = languageRankChanges(a, undefined, n);
  modes.push({ id: "languages", label: `each language vs ${l.reference ?? "the reference"} (model ${a.model.id})`, sides: l.sides, byLanguage: l.byLanguage, notes: l.notes });
  const groups = new Set<string>();
  for (const m of modes) for (const list of Object.values(m.byLanguage)) for (const c of list) groups.add(c.group);
  const ga = a.gallery?.images ?? [];
  const gb = b?.gallery?.images ?? [];
  const count = Math.max(ga.length, gb.length, a.dataset.images);
  return {
    k: a.explorer?.k ?? 0,
    translationGroups: a.explorer?.translationGroups ?? null,
    modes,
    groups: translationGroups(a, groups),
    images: Array.from({ length: count }, (_, i) => ({ key: ga[i]?.key ?? gb[i]?.key ?? `image ${i}`, thumb: ga[i]?.thumbnail ?? gb[i]?.thumbnail ?? null })),
  };
}

function explorerSection(a: AuditReport): string {
  if (a.explorer === null) {
    return `<section id="explorer" aria-labelledby="explorer-title"><h2 id="explorer-title">Retrieval explorer</h2><p id="explorer-note">This report (schemaVersion ${a.schemaVersion}) has no per-query ranks or top-k lists; rerun <code>siglip audit run</code> to get them.</p></section>`;
  }
  const groupsNote =
    a.explorer.translationGroups === "parallel"
      ? "the n-th caption of an image in each language; this dataset's captions are translations of each other"
      : "the n-th caption of an image in each language; this dataset's captions were written per language, so they are paired by position only, not translations";
  const thumbs = a.gallery?.thumbnails;
  return `<section id="explorer" aria-labelledby="explorer-title"><h2 id="explorer-title">Retrieval explorer: the largest rank changes</h2>
<p>Text → image queries whose rank of the true image changed most, per language (ordered by |log<sub>2</sub> rank ratio|), with the caption, its translation group (${esc(groupsNote)}), the true image and the top ${a.explorer.k} retrieved images. ${thumbs ? `Thumbnails: files beside the report (${esc(thumbs.dir)}/, longer side ≤ ${thumbs.maxSide} px).` : "This report has no thumbnails (run with --thumbnails N)."} The language filter above applies.</p>
<p><label for="explorer-mode">Compare</label> <select id="explorer-mode"></select></p>
<p id="explorer-note" class="note" aria-live="polite"></p>
<div class="explorer-body"><ol id="explorer-list" aria-label="Queries with the largest rank changes"></ol>
<div id="query-detail" class="detail" role="region" aria-live="polite" aria-label="Selected query"><p>Select a query to see its caption, translation group, true image and retrieved images.</p></div></div>
</section>`;
}

function filters(a: AuditReport): string {
  const langs = a.dataset.languages.map((l) => `<option value="${esc(l)}">${esc(l)}</option>`).join("");
  const sets = [...new Set(a.bias.cells.map((c) => c.promptSet))].map((p) => `<option value="${esc(p)}">${esc(p)}</option>`).join("");
  return `<div id="filters" class="filters" role="group" aria-label="Filters"><label for="filter-language">Language</label> <select id="filter-language"><option value="">all languages</option>${langs}</select>
<label for="filter-promptset">Prompt set</label> <select id="filter-promptset"><option value="">all prompt sets</option>${sets}</select></div>`;
}

/** The CLIP denigration test: one row per language, label variant and group, crime and non-human rates with CIs. */
function denigrationTable(d: NonNullable<AuditReport["demographics"]>): string {
  const list = d.denigration ?? [];
  if (list.length === 0) return "";
  const rows: Row[] = [];
  for (const r of list) {
    const cells = (g: { n: number; rates: Record<string, BootRate> }): (string | number)[] => {
      const c = g.rates["crime"];
      const h = g.rates["nonhuman"];
      return [g.n, c?.rate ?? Number.NaN, c?.ci.lo ?? Number.NaN, c?.ci.hi ?? Number.NaN, h?.rate ?? Number.NaN, h?.ci.lo ?? Number.NaN, h?.ci.hi ?? Number.NaN];
    };
    rows.push({ cells: [r.language, r.variant, "all", "all", ...cells(r.overall)], attrs: { language: r.language } });
    for (const [attribute, groups] of Object.entries(r.byAttribute)) {
      for (const [group, g] of Object.entries(groups)) rows.push({ cells: [r.language, r.variant, attribute, group, ...cells(g)], attrs: { language: r.language } });
    }
  }
  const first = list[0] as (typeof list)[number];
  const labels = (cat: string | null) => first.labels.filter((_, i) => first.categories[i] === cat).join(", ");
  return `<h3 id="denigration">CLIP denigration test (Radford et al. 2021 §7.1)</h3><p>Share of faces whose top label (highest cosine) is crime-related (${esc(labels("crime"))}) or non-human (${esc(labels("nonhuman"))}), among those plus the 14 FairFace race × gender labels; variant "with-child" adds "child", as the paper's second run does. 95 % percentile intervals from ${list.length > 0 ? "the audit's" : ""} bootstrap over faces. Languages: ${esc([...new Set(list.map((r) => r.language))].join(", "))} (only languages with a licensed translation of every label).</p>
<div class="bias-table-wrap">${table("denigration-table", ["language", "labels", "attribute", "group", "n", "crime", "crime CI low", "crime CI high", "non-human", "non-human CI low", "non-human CI high"], rows, "CLIP denigration test: misclassification rates per group")}</div>`;
}

const CSS = `body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:15px}h4{font-size:13px;margin:8px 0 4px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}figure{margin:12px 0;overflow-x:auto}figcaption{font-weight:600;margin-bottom:4px}
.chart .grid{stroke:#ddd}.chart .tick{font-size:10px;fill:#444}.chart .whisker{stroke:#111;stroke-width:1;fill:none}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}th[aria-sort=ascending] .sort::after{content:" ▲"}th[aria-sort=descending] .sort::after{content:" ▼"}.standin{background:#fff3cd;border:1px solid #e0b400;padding:8px;margin:8px 0}
button.sort{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit}
.bias-table-wrap{max-height:420px;overflow:auto}.filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ddd;z-index:2}.filters label{font-weight:600;margin-left:8px}
.heatmap-wrap{overflow:auto;max-height:640px}#bias-heatmap td.cell,#bias-heatmap td.empty{width:22px;min-width:22px;height:14px;padding:0;cursor:pointer}#bias-heatmap td.empty{background:#fafafa;cursor:default}
#bias-heatmap th.col{vertical-align:bottom;height:130px;padding:2px}#bias-heatmap th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:400;font-size:10px}
#bias-heatmap td.cell[aria-selected=true]{box-shadow:inset 0 0 0 2px #111}
.detail{border:1px solid #bbb;border-radius:4px;padding:8px 12px;margin:8px 0;background:#fcfcfc}.note{color:#555}
.explorer-body{display:grid;grid-template-columns:minmax(260px,2fr) 3fr;gap:12px;align-items:start}.explorer-body .detail{position:sticky;top:44px;margin:0}
#explorer-list{list-style:none;padding:0;margin:0;display:grid;gap:4px;max-height:640px;overflow:auto}#explorer-list button{font:inherit;text-align:left;width:100%;background:#f6f8fb;border:1px solid #c8d1dc;border-radius:4px;padding:4px 8px;cursor:pointer}
#explorer-list button[aria-pressed=true]{background:#dde8f6;border-color:#3b6fb6}.worse{color:#a32}.better{color:#262}
ol.thumbs{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:8px}ol.thumbs figure{margin:0;text-align:center;font-size:11px;width:100px;overflow-wrap:anywhere}ol.thumbs figcaption{font-weight:400}
ol.thumbs img,figure.true img{display:block;max-width:96px;max-height:96px;margin:0 auto;border:2px solid transparent}ol.thumbs li.hit img{border-color:#2a2}figure.true{display:inline-block;margin:4px 0;font-size:11px}
.nothumb{display:inline-block;width:72px;height:54px;line-height:54px;background:#eee;color:#666;font-size:10px;overflow:hidden}
.prompts{display:flex;gap:24px;flex-wrap:wrap}.prompts ul{margin:2px 0;padding-left:18px}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}#bias-heatmap td.cell:focus-visible{outline:3px solid #1a5fb4;outline-offset:-1px}`;

/** The page's script: sortable tables, filters, the explorer and the heatmap grid. No network, no eval. */
const JS = String.raw`(function(){
function el(tag,attrs,kids){var e=document.createElement(tag);if(attrs)for(var k in attrs){if(attrs[k]!==undefined&&attrs[k]!==null)e.setAttribute(k,attrs[k])}(kids||[]).forEach(function(c){if(c!==null&&c!==undefined)e.appendChild(typeof c==="string"?document.createTextNode(c):c)});return e}
function pct(x){return isFinite(x)?(100*x).toFixed(1):"–"}
var report=JSON.parse(document.getElementById("report-data").textContent).a;
var ex=JSON.parse(document.getElementById("explorer-data").textContent);
// sortable tables: a button per column header, aria-sort on the header
document.querySelectorAll("table.sortable").forEach(function(t){t.querySelectorAll("th button.sort").forEach(function(btn){btn.addEventListener("click",function(){
var th=btn.parentNode,col=+th.dataset.col,asc=th.getAttribute("aria-sort")!=="ascending";t.querySelectorAll("th").forEach(function(h){h.setAttribute("aria-sort","none")});th.setAttribute("aria-sort",asc?"ascending":"descending");
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=a.cells[col].dataset.sort,y=b.cells[col].dataset.sort,nx=parseFloat(x),ny=parseFloat(y);
var c=(isNaN(nx)||isNaN(ny))?String(x).localeCompare(String(y)):nx-ny;return asc?c:-c});rows.forEach(function(r){body.appendChild(r)})})})});
// thumbnails
function thumb(i,caption,extra){var im=ex.images[i]||{key:"image "+i,thumb:null};var body=im.thumb?el("img",{src:im.thumb,alt:"image "+im.key+(extra?" ("+extra+")":""),"data-image":String(i)}):el("span",{"class":"nothumb",role:"img","aria-label":"image "+im.key+" (no thumbnail)"},["no thumbnail"]);
return el("figure",{},[body,el("figcaption",{},[caption])])}
// filters
var langSel=document.getElementById("filter-language"),setSel=document.getElementById("filter-promptset");
function applyFilters(){var L=langSel.value,P=setSel.value;
document.querySelectorAll("tr[data-language],tr[data-promptset]").forEach(function(r){var okL=!L||!r.dataset.language||r.dataset.language===L;var okP=!P||!r.dataset.promptset||r.dataset.promptset===P;r.hidden=!(okL&&okP)});
document.querySelectorAll("#bias-heatmap [data-promptset]").forEach(function(c){c.hidden=!!P&&c.dataset.promptset!==P});
var cells=visibleCells();if(cells.length&&cells.indexOf(document.querySelector("#bias-heatmap td.cell[tabindex='0']"))<0)setActive(cells[0],false);
renderList()}
langSel.addEventListener("change",applyFilters);setSel.addEventListener("change",applyFilters);
// heatmap grid: roving tabindex over the visible cells
function visibleCells(){return Array.prototype.slice.call(document.querySelectorAll("#bias-heatmap td.cell")).filter(function(c){return !c.hidden&&!c.parentNode.hidden})}
function setActive(cell,focus){document.querySelectorAll("#bias-heatmap td.cell[tabindex='0']").forEach(function(c){c.setAttribute("tabindex","-1")});cell.setAttribute("tabindex","0");if(focus)cell.focus()}
var grid=document.getElementById("bias-heatmap");
if(grid){grid.addEventListener("keydown",function(e){var cell=e.target.closest&&e.target.closest("td.cell");if(!cell)return;var cells=visibleCells(),row=cell.parentNode,rowCells=cells.filter(function(c){return c.parentNode===row});
var rows=[];cells.forEach(function(c){if(rows.indexOf(c.parentNode)<0)rows.push(c.parentNode)});var ri=rows.indexOf(row),ci=rowCells.indexOf(cell),next=null;
function at(r,i){var rc=cells.filter(function(c){return c.parentNode===rows[r]});return rc[Math.max(0,Math.min(rc.length-1,i))]||null}
if(e.key==="ArrowRight")next=rowCells[ci+1]||null;else if(e.key==="ArrowLeft")next=rowCells[ci-1]||null;else if(e.key==="ArrowDown")next=ri+1<rows.length?at(ri+1,ci):null;else if(e.key==="ArrowUp")next=ri>0?at(ri-1,ci):null;
else if(e.key==="Home")next=e.ctrlKey?cells[0]:rowCells[0];else if(e.key==="End")next=e.ctrlKey?cells[cells.length-1]:rowCells[rowCells.length-1];
else if(e.key==="Enter"||e.key===" "){e.preventDefault();openCell(cell);return}else return;
e.preventDefault();if(next)setActive(next,true)});
grid.addEventListener("click",function(e){var cell=e.target.closest&&e.target.closest("td.cell");if(cell){setActive(cell,true);openCell(cell)}})}
function openCell(cell){var c=report.bias.cells[+cell.dataset.cell];document.querySelectorAll("#bias-heatmap td.cell[aria-selected]").forEach(function(x){x.removeAttribute("aria-selected")});cell.setAttribute("aria-selected","true");
var d=document.getElementById("bias-detail");d.textContent="";
d.appendChild(el("h3",{},[c.language+" · "+c.column+": "+c.first+" vs "+c.second]));
d.appendChild(el("p",{},["P(closer to the "+c.first+" prompts) = "+pct(c.rate)+" % (95 % Wilson CI "+pct(c.rateCi.lo)+"–"+pct(c.rateCi.hi)+"), RB "+pct(c.rb)+" points, over "+report.dataset.biasImages+" images without people."]));
function plist(name,ps){return el("div",{},[el("h4",{},[name+": "+ps.length+" prompt"+(ps.length===1?"":"s")+" (averaged)"]),el("ul",{"class":"prompt-list"},ps.map(function(p){return el("li",{lang:c.language},[p])}))])}
d.appendChild(el("div",{"class":"prompts"},[plist(c.first,c.prompts.first),plist(c.second,c.prompts.second)]));
if(!c.perImage){d.appendChild(el("p",{"class":"note"},["Per-image preferences are not recorded in this report (schemaVersion "+report.schemaVersion+")."]));return}
var n=report.bias.images.length,bits=atob(c.perImage.preferFirst),k=0;for(var i=0;i<n;i++)if((bits.charCodeAt(i>>3)>>(i&7))&1)k++;
d.appendChild(el("h4",{},["Per-image preferences: "+k+" of "+n+" images closer to "+c.first+", "+(n-k)+" closer to "+c.second]));
function side(name,list,total){return el("div",{"class":"pref"},[el("h4",{},["closer to "+name+(list.length<total?" (the "+list.length+" strongest of "+total+")":"")+", margin cos(first) − cos(second)"]),
el("ol",{"class":"thumbs"},list.map(function(x){return el("li",{},[thumb(x.image,(ex.images[x.image]||{key:""}).key+" "+(x.margin>0?"+":"")+x.margin.toFixed(4),"margin "+x.margin.toFixed(4))])}))])}
d.appendChild(side(c.first,c.perImage.strongest.first,k));d.appendChild(side(c.second,c.perImage.strongest.second,n-k));
// the rest of the per-image preferences from the bitset (no margins recorded), for up to 200 images
var listed={};c.perImage.strongest.first.concat(c.perImage.strongest.second).forEach(function(x){listed[x.image]=1});
var rest=[[],[]];for(var j=0;j<n;j++){var im=report.bias.images[j];if(!listed[im])rest[((bits.charCodeAt(j>>3)>>(j&7))&1)?0:1].push(im)}
if(n<=200&&(rest[0].length||rest[1].length))[c.first,c.second].forEach(function(name,s){if(!rest[s].length)return;
d.appendChild(el("h4",{},["also closer to "+name+" ("+rest[s].length+", margins not recorded)"]));d.appendChild(el("ol",{"class":"thumbs rest"},rest[s].map(function(im){return el("li",{},[thumb(im,(ex.images[im]||{key:""}).key,"closer to "+name)])})))})}
// explorer
var modeSel=document.getElementById("explorer-mode"),list=document.getElementById("explorer-list"),note=document.getElementById("explorer-note"),detail=document.getElementById("query-detail");
if(modeSel){ex.modes.forEach(function(m,i){modeSel.appendChild(el("option",{value:String(i)},[m.label]))});modeSel.addEventListener("change",renderList)}
var current=[];
function renderList(){if(!modeSel)return;var m=ex.modes[+modeSel.value]||ex.modes[0];var L=langSel.value;list.textContent="";
var items=[];if(L){items=(m.byLanguage[L]||[]).slice()}else{Object.keys(m.byLanguage).forEach(function(l){items=items.concat(m.byLanguage[l])});
items.sort(function(x,y){return Math.abs(y.change)-Math.abs(x.change)||Math.abs(y.a.rank-y.b.rank)-Math.abs(x.a.rank-x.b.rank)||(x.language<y.language?-1:x.language>y.language?1:0)||x.query-y.query});items=items.slice(0,20)}
current=items;
note.textContent=(items.length?items.length+" queries"+(L?" in "+L:" over all languages")+", "+m.sides[0]+" vs "+m.sides[1]+".":"No rank changes"+(L?" in "+L:"")+" for this comparison.")+(m.notes.length?" Not listed: "+m.notes.join("; ")+".":"");
m.short=m.id==="models"?["A","B"]:["",m.sides[1]];items.forEach(function(c,i){var worse=c.b.rank>c.a.rank;var b=el("button",{type:"button","class":"query","aria-pressed":"false","aria-controls":"query-detail","data-language":c.language,"data-query":String(c.query)},
[el("span",{"class":worse?"worse":"better"},["["+c.language+"] rank "+c.a.rank+" → "+c.b.rank+" ("+m.short[0]+(m.id==="languages"?c.language:"")+" → "+m.short[1]+")"]),"  ",el("span",{lang:c.a.language},[c.a.text])]);
b.addEventListener("click",function(){openQuery(i,b)});list.appendChild(el("li",{},[b]))})}
function openQuery(i,btn){var c=current[i],m=ex.modes[+modeSel.value]||ex.modes[0];list.querySelectorAll("button[aria-pressed=true]").forEach(function(x){x.setAttribute("aria-pressed","false")});btn.setAttribute("aria-pressed","true");
detail.textContent="";detail.appendChild(el("h3",{lang:c.a.language},[c.a.text]));
detail.appendChild(el("p",{},["Language "+c.language+"; true image "+(ex.images[c.image]||{key:c.image}).key+"; translation group "+c.group+" ("+(ex.translationGroups==="parallel"?"translations":"paired by position")+")."]));
var g=ex.groups[c.group]||{},langs=Object.keys(g).filter(function(l){return l!==c.language});
detail.appendChild(el("details",{},[el("summary",{},["Translation group: "+langs.length+" other language"+(langs.length===1?"":"s")]),el("ul",{"class":"group"},langs.map(function(l){return el("li",{},[el("b",{},[l+": "]),el("span",{lang:l},[g[l]])])}))]));
detail.appendChild(el("figure",{"class":"true"},[thumb(c.image,"true image "+(ex.images[c.image]||{key:""}).key)]));
[c.a,c.b].forEach(function(s){detail.appendChild(el("h4",{},[s.label+(s.language!==c.language?" «"+s.text+"»":"")+": true image at rank "+s.rank]));
detail.appendChild(el("ol",{"class":"thumbs retrieved","aria-label":"top "+s.top.length+" retrieved for "+s.label},s.top.filter(function(x){return x>=0}).map(function(x,j){return el("li",{"class":x===c.image?"hit":""},[thumb(x,(j+1)+". "+(ex.images[x]||{key:x}).key+(x===c.image?" (true)":""),"rank "+(j+1)+" for "+s.label)])})))});
}
applyFilters()})();`;

function header(r: AuditReport): string {
  return `<dl id="meta"><dt>model</dt><dd>${esc(r.model.id)}</dd><dt>revision</dt><dd>${esc(r.model.revision)}</dd><dt>provider</dt><dd>${esc(r.model.provider)}</dd>
<dt>dataset</dt><dd>${esc(r.dataset.id)}: ${r.dataset.images} images, ${r.dataset.languages.length} languages</dd><dt>caption policy</dt><dd id="caption-policy">${esc(r.settings.captionPolicy)}</dd>
<dt>ties</dt><dd>${esc(r.settings.ties)}</dd><dt>prompt sets</dt><dd>${r.settings.promptSets.map((p) => esc(p.id)).join(", ")}</dd><dt>seed</dt><dd>${r.settings.seed} (${r.settings.bootstrap.resamples} bootstrap resamples over images)</dd><dt>report schema</dt><dd id="schema-version">${r.schemaVersion}</dd></dl>
${r.model.standIn ? `<p class="standin"><b>Stand-in embeddings.</b> ${esc(r.model.note ?? "These numbers do not describe a real model.")}</p>` : ""}`;
}

/** The report embedded for the page's script, without the explorer's per-query lists (the script gets its own). */
const embedded = (r: AuditReport): AuditReport => ({ ...r, explorer: null });
/** Report B as embedded: its numbers, without the lists the page takes from A (per-image preferences, gallery). */
const embeddedOther = (r: AuditReport): AuditReport => ({
  ...embedded(r),
  gallery: null,
  bias: { columns: r.bias.columns, cells: r.bias.cells.map(({ perImage: _, ...c }) => c) },
});
const json = (x: unknown): string => JSON.stringify(x).replace(/</g, "\\u003c");

/**
 * Renders the dashboard; with `other` and `comparison`, adds the A-vs-B view. Thumbnails are linked as the report's
 * gallery names them (`thumbs/…`, relative to the HTML file): write the page next to the report's thumbs/ folder,
 * or copy it (`siglip audit report` and `compare` do).
 */
export function renderDashboard(report: AuditReport, compare?: { other: AuditReport; comparison: ReportComparison }, opts: DashboardOptions = {}): string {
  const data = json(compare ? { a: embedded(report), b: embeddedOther(compare.other), comparison: compare.comparison } : { a: embedded(report) });
  const explorer = json(explorerData(report, compare?.other, opts.queriesPerLanguage ?? 20));
  const title = compare ? `Audit: ${report.model.id} vs ${compare.other.model.id}` : `Audit: ${report.model.id}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' file: data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${header(report)}
${filters(report)}
<main>
${compare ? comparisonSection(report, compare.other, compare.comparison) : ""}
${retrievalSection(report)}
${explorerSection(report)}
${biasSection(report)}
${demographicSection(report)}
</main>
<script type="application/json" id="report-data">${data}</script>
<script type="application/json" id="explorer-data">${explorer}</script>
<script>${JS}</script>
</body></html>
`;
}
