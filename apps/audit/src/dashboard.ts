/**
 * Renders a report (or two, with their comparison) as one self-contained HTML file: inline CSS, inline SVG charts
 * and a little inline JS for sortable tables. No network: a Content-Security-Policy forbids every fetch.
 * @module
 */
import type { ReportComparison } from "./compare.ts";
import type { AuditReport, BiasCell, Ci } from "./report-schema.ts";

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

function heatmap(report: AuditReport): string {
  const { columns, cells } = report.bias;
  if (columns.length === 0) return "<p>No bias prompt sets in this report.</p>";
  const langs = report.dataset.languages;
  const cw = 30;
  const ch = 16;
  const left = 46;
  const top = 150;
  const byKey = new Map(cells.map((c) => [`${c.language}\u0000${c.column}`, c]));
  const parts: string[] = [];
  columns.forEach((col, j) => {
    parts.push(`<text class="tick" transform="translate(${left + j * cw + cw / 2 + 4},${top - 4}) rotate(-60)">${esc(col)}</text>`);
  });
  langs.forEach((lang, i) => {
    parts.push(`<text x="${left - 4}" y="${top + i * ch + ch - 4}" class="tick" text-anchor="end">${esc(lang)}</text>`);
    columns.forEach((col, j) => {
      const c: BiasCell | undefined = byKey.get(`${lang}\u0000${col}`);
      if (c === undefined) return;
      parts.push(
        `<rect class="cell" data-language="${esc(lang)}" data-column="${esc(col)}" data-rb="${c.rb}" data-rate="${c.rate}" x="${left + j * cw}" y="${top + i * ch}" width="${cw - 1}" height="${ch - 1}" fill="${diverging(c.rate - 0.5)}"><title>${esc(lang)} ${esc(col)}: P(${esc(c.first)}) = ${pct(c.rate)}% (CI ${pct(c.rateCi.lo)}–${pct(c.rateCi.hi)}), RB ${pct(c.rb)}</title></rect>`,
      );
    });
  });
  const w = left + columns.length * cw + 20;
  const h = top + langs.length * ch + 10;
  return `<figure><figcaption>Representation bias: P(first group preferred), language × attribute (red: first group, e.g. male/young; blue: second; white: 50 %)</figcaption><svg id="bias-heatmap" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="bias heatmap">${parts.join("")}</svg></figure>`;
}

function table(id: string, headers: string[], rows: (string | number)[][]): string {
  const th = headers.map((h, i) => `<th data-col="${i}" tabindex="0">${esc(h)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((c) => (typeof c === "number" ? `<td data-sort="${Number.isFinite(c) ? c : ""}">${fmt(c)}</td>` : `<td data-sort="${esc(c)}">${esc(c)}</td>`))
          .join("")}</tr>`,
    )
    .join("");
  return `<table id="${id}" class="sortable"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
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
${table(`retrieval-table${suffix}`, ["language", "low-resource", "T→I R@1", "T→I R@5", "T→I R@10", "T→I MRR", "T→I median rank", "I→T R@1", "I→T R@5", "I→T R@10", "I→T MRR", "I→T median rank"], rows)}
</section>`;
}

function biasSection(report: AuditReport): string {
  const rows = report.bias.cells.map((c) => [c.language, c.column, `${c.first} vs ${c.second}`, c.rate, c.rateCi.lo, c.rateCi.hi, c.rb]);
  return `<section><h2>Representation bias</h2><p>On ${report.dataset.biasImages} images without people: how often the image embedding is closer to the first group's prompts than to the second's (audit-metrics §1.2: RB = |P − 0.5|; SigLIP 2 paper: L/16 35.5 → 7.3 % points for "male" vs "female"). Prompts are averaged per side (prompt ensembling).</p>
${heatmap(report)}
${table("bias-table", ["language", "column", "contrast", "P(first)", "CI low", "CI high", "RB"], rows)}</section>`;
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
${table("comparison-table", ["language", "T→I R@1 A", "T→I R@1 B", "Δ T→I", "Δ CI low", "Δ CI high", "Holm p T→I", "I→T R@1 A", "I→T R@1 B", "Δ I→T", "Δ CI low", "Δ CI high", "Holm p I→T"], rows)}
${table("comparison-bias-table", ["column", "mean RB A", "mean RB B", "Wilcoxon p"], cmp.bias.map((x) => [x.column, x.meanA, x.meanB, x.wilcoxon.p]))}
</section>`;
}

function demographicSection(report: AuditReport): string {
  const d = report.demographics;
  if (d === null || d === undefined) return "";
  const ab = d.association.map((r) => [r.language, `${r.pair[0]} vs ${r.pair[1]}`, r.female.rate, r.male.rate, r.ab]);
  const sk = d.skew.map((r) => [r.language, r.attribute, r.k, r.maxSkew, r.ndkl]);
  return `<section id="demographics"><h2>Labelled faces: association bias and ranking skew</h2><p>${d.images} images; gender ${esc(JSON.stringify(d.groups.gender))}. AB = |P<sub>Female</sub>(a over b) − P<sub>Male</sub>(a over b)| (audit-metrics §1.2); MaxSkew@k and NDKL against a uniform target, mean over the neutral occupation prompts (§2).</p>
<div class="bias-table-wrap">${table("association-table", ["language", "pair", "P female", "P male", "AB"], ab)}</div>
<div class="bias-table-wrap">${table("skew-table", ["language", "attribute", "k", "MaxSkew@k", "NDKL"], sk)}</div>
${d.zeroShot.length > 0 ? `<p>Zero-shot misclassification: share of faces whose top label among ${esc(d.zeroShot[0]?.labels.join(", ") ?? "")} is non-human, per race (audit-metrics §2).</p>${table("zero-shot-table", ["language", "overall", ...Object.keys(d.zeroShot[0]?.byAttribute.race ?? {})], d.zeroShot.map((z) => [z.language, z.overall.rate, ...Object.keys(d.zeroShot[0]?.byAttribute.race ?? {}).map((k) => z.byAttribute.race[k]?.rate ?? Number.NaN)]))}` : ""}
${d.eat.length > 0 ? `<p>Embedding association test (${esc(d.eat[0]?.test ?? "")}): X = Female faces, Y = Male faces, A = ${esc(d.eat[0]?.a.join(", ") ?? "")}; B = ${esc(d.eat[0]?.b.join(", ") ?? "")}.</p>${table("eat-table", ["language", "effect size d", "p (one-sided)"], d.eat.map((e) => [e.language, e.effectSize, e.p]))}` : ""}</section>`;
}

const CSS = `body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}h1{font-size:22px}h2{font-size:18px;margin-top:28px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}figure{margin:12px 0;overflow-x:auto}figcaption{font-weight:600;margin-bottom:4px}
.chart .grid{stroke:#ddd}.chart .tick{font-size:10px;fill:#444}.chart .whisker{stroke:#111;stroke-width:1;fill:none}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f2f2f2;cursor:pointer;user-select:none}
td:first-child,th:first-child{text-align:left}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}.standin{background:#fff3cd;border:1px solid #e0b400;padding:8px;margin:8px 0}
.bias-table-wrap{max-height:420px;overflow:auto}`;

const JS = `document.querySelectorAll("table.sortable").forEach(function(t){t.querySelectorAll("th").forEach(function(th){th.addEventListener("click",function(){
var col=+th.dataset.col,asc=!th.classList.contains("asc");t.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc")});th.classList.add(asc?"asc":"desc");
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=a.cells[col].dataset.sort,y=b.cells[col].dataset.sort,nx=parseFloat(x),ny=parseFloat(y);
var c=(isNaN(nx)||isNaN(ny))?String(x).localeCompare(String(y)):nx-ny;return asc?c:-c});rows.forEach(function(r){body.appendChild(r)})})})});`;

function header(r: AuditReport): string {
  return `<dl id="meta"><dt>model</dt><dd>${esc(r.model.id)}</dd><dt>revision</dt><dd>${esc(r.model.revision)}</dd><dt>provider</dt><dd>${esc(r.model.provider)}</dd>
<dt>dataset</dt><dd>${esc(r.dataset.id)}: ${r.dataset.images} images, ${r.dataset.languages.length} languages</dd><dt>caption policy</dt><dd id="caption-policy">${esc(r.settings.captionPolicy)}</dd>
<dt>ties</dt><dd>${esc(r.settings.ties)}</dd><dt>prompt sets</dt><dd>${r.settings.promptSets.map((p) => esc(p.id)).join(", ")}</dd><dt>seed</dt><dd>${r.settings.seed} (${r.settings.bootstrap.resamples} bootstrap resamples over images)</dd></dl>
${r.model.standIn ? `<p class="standin"><b>Stand-in embeddings.</b> ${esc(r.model.note ?? "These numbers do not describe a real model.")}</p>` : ""}`;
}

/** Renders the dashboard; with `other` and `comparison`, adds the A-vs-B view. */
export function renderDashboard(report: AuditReport, compare?: { other: AuditReport; comparison: ReportComparison }): string {
  const data = JSON.stringify(compare ? { a: report, b: compare.other, comparison: compare.comparison } : { a: report }).replace(/</g, "\\u003c");
  const title = compare ? `Audit: ${report.model.id} vs ${compare.other.model.id}` : `Audit: ${report.model.id}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${header(report)}
${compare ? comparisonSection(report, compare.other, compare.comparison) : ""}
${retrievalSection(report)}
${biasSection(report).replace('<table id="bias-table"', '<div class="bias-table-wrap"><table id="bias-table"').replace(/(<table id="bias-table"[\s\S]*?<\/table>)/, "$1</div>")}
${demographicSection(report)}
<script type="application/json" id="report-data">${data}</script>
<script>${JS}</script>
</body></html>
`;
}
