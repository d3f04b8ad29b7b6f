/** `GET /docs`: a self-contained HTML page (no CDN: it must work offline) built from the OpenAPI document. */
import type { ModelCard } from "@siglip-edge/runtime";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function docsPage(doc: Record<string, unknown>, models: readonly ModelCard[]): string {
  const paths = doc["paths"] as Record<string, Record<string, { summary?: string; requestBody?: unknown }>>;
  const rows = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => `<tr><td><code>${method.toUpperCase()} ${esc(path)}</code></td><td>${esc(op.summary ?? "")}</td></tr>`),
  );
  const model = models[0]?.id ?? "MODEL";
  const curl = [
    `curl -s localhost:8787/v1/embeddings -H 'content-type: application/json' -d '{"model":"${model}","input":["a photo of a cat","ein Foto einer Katze"]}'`,
    `curl -s localhost:8787/v1/classify -H 'content-type: application/json' -d '{"model":"${model}","images":["https://example.com/cat.jpg"],"labels":["cat","dog"]}'`,
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>siglip-edge API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}td{padding:.2rem .8rem;border-bottom:1px solid #ddd}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}</style></head><body>
<h1>siglip-edge API</h1><p>SigLIP 2 embeddings (OpenAI-compatible) and zero-shot classification. Machine-readable contract: <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Endpoints</h2><table>${rows.join("")}</table>
<h2>Models</h2><ul>${models.map((m) => `<li><code>${esc(m.id)}</code>: ${esc(m.size)}, ${esc(m.quantization)}, ${esc(m.runsOn)}</li>`).join("")}</ul>
<h2>Examples</h2>${curl.map((c) => `<pre>${esc(c)}</pre>`).join("")}
<p>Errors use the OpenAI envelope <code>{"error":{"message","type","param","code"}}</code>; every response has an <code>x-request-id</code> header.</p>
</body></html>`;
}
