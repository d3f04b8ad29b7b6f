/** `GET /docs`: a self-contained HTML page (no CDN: it must work offline) built from the OpenAPI document. */
import type { ModelCard } from "@siglip-edge/runtime";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function docsPage(doc: Record<string, unknown>, models: readonly ModelCard[]): string {
  const paths = doc["paths"] as Record<string, Record<string, { summary?: string; requestBody?: unknown }>>;
  const rows = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => `<tr><td><code>${method.toUpperCase()} ${esc(path)}</code></td><td>${esc(op.summary ?? "")}</td></tr>`),
  );
  const model = models[0]?.id ?? "MODEL";
  const naflex = models.find((m) => m.naflex !== undefined);
  const budget = naflex?.naflex?.allowedPatches.at(-1) ?? 1024;
  const curl = [
    `curl -s localhost:8787/v1/embeddings -H 'content-type: application/json' -d '{"model":"${model}","input":["a photo of a cat","ein Foto einer Katze"]}'`,
    `curl -s localhost:8787/v1/classify -H 'content-type: application/json' -d '{"model":"${model}","images":["https://example.com/cat.jpg"],"labels":["cat","dog"]}'`,
    `# NaFlex: native aspect ratio, max_num_patches = the image's patch budget (GET /v1/models lists the allowed values)`,
    `curl -s localhost:8787/v1/embeddings -H 'content-type: application/json' -d '{"model":"${naflex?.id ?? "google/siglip2-base-patch16-naflex"}","max_num_patches":${budget},"input":[{"type":"image_url","image_url":"https://example.com/panorama.jpg"}]}'`,
    `# binary embeddings: sign bits packed MSB-first (ubinary), one bit per dimension; int8 adds a per-vector "scale"`,
    `curl -s localhost:8787/v1/embeddings -H 'content-type: application/json' -d '{"model":"${model}","input":["a photo of a cat"],"embedding_type":"ubinary","encoding_format":"base64"}'`,
  ];
  const shape = (m: ModelCard) => (m.naflex ? `NaFlex (patch ${m.naflex.patchSize}, max_num_patches ${m.naflex.allowedPatches.join(" / ")}, default ${m.naflex.defaultPatches})` : `FixRes ${m.imageSize ?? ""} px`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>siglip-edge API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}td{padding:.2rem .8rem;border-bottom:1px solid #ddd}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}</style></head><body>
<h1>siglip-edge API</h1><p>SigLIP 2 embeddings (OpenAI-compatible) and zero-shot classification. Machine-readable contract: <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Endpoints</h2><table>${rows.join("")}</table>
<h2>Models</h2><ul>${models.map((m) => `<li><code>${esc(m.id)}</code>: ${esc(m.size)}, ${esc(shape(m))}, ${esc(m.quantization)}, ${esc(m.runsOn)}</li>`).join("")}</ul>
<h2>Examples</h2>${curl.map((c) => `<pre>${esc(c)}</pre>`).join("")}
<p>Embedding types (<code>embedding_type</code>): float, int8 and uint8 (per-vector scale, <code>v ~ q * scale</code>), binary and ubinary (sign bits, MSB-first); the exact rules are in the schema of <a href="/openapi.json">/openapi.json</a>.</p>
<p>Errors use the OpenAI envelope <code>{"error":{"message","type","param","code"}}</code>; every response has an <code>x-request-id</code> header.</p>
</body></html>`;
}
