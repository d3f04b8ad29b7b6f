/**
 * The HTTP API as one Hono app, shared by the Worker (worker.ts) and `siglip serve` (node/server.ts): routes,
 * request ids, auth, body and per-request caps, rate limits, and the OpenAI error envelope.
 * @module
 */
import { embeddingToBase64, embeddingToJson, hasErrorCode, l2Normalize, quantizeEmbedding } from "@siglip-edge/core";
import { classifyImages, type EmbeddingCache, type ImageOptions, type LowercaseMode, type ModelCard, type ModelProvider, type SiglipPipeline } from "@siglip-edge/runtime";
import { Hono, type Context } from "hono";
import type { z } from "zod";
import { checkBearer } from "./auth.ts";
import { servedBy } from "./backend-routing.ts";
import type { ApiConfig } from "./config.ts";
import { docsPage } from "./docs-page.ts";
import { ApiError, toApiError, type ApiErrorCode } from "./errors.ts";
import { loadImage } from "./image-input.ts";
import { Admission, FixedWindowLimiter, readCappedBody } from "./limits.ts";
import { openApiDocument } from "./openapi.ts";
import { ClassifyRequest, EmbeddingsRequest, lowercaseMode, paramPath } from "./schemas.ts";

export interface AppDeps {
  config: ApiConfig;
  models: ModelProvider;
  /** Label-embedding cache for /v1/classify (Cache API / KV in Workers, memory on Node). */
  labelCache?: EmbeddingCache;
  /** Called with errors that become a 5xx, for logs (never sent to clients). */
  logError?: (requestId: string, err: unknown) => void;
}

type Env = { Variables: { requestId: string; client: string } };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function newRequestId(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return `req_${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** Reads a JSON body under the size cap and validates it with `schema`. */
async function readJson<T extends z.ZodType>(c: Context<Env>, schema: T, maxBytes: number): Promise<z.infer<T>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError("unsupported_media_type", `Content-Type must be application/json, got "${type || "none"}"`);
  }
  const tooLarge = () => new ApiError("payload_too_large", `request body is larger than ${maxBytes} bytes`);
  const text = new TextDecoder().decode(await readCappedBody(c.req.raw.body, c.req.header("content-length"), maxBytes, tooLarge));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_json", "request body is not valid JSON");
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const param = issue ? paramPath(issue.path) : null;
    throw new ApiError(FIELD_CODES[param ?? ""] ?? "invalid_request", `${param ?? "body"}: ${issue?.message ?? "invalid request"}`, { param });
  }
  return result.data as z.infer<T>;
}

/** Fields whose invalid values have a code of their own (clients branch on them). */
const FIELD_CODES: Record<string, ApiErrorCode> = { embedding_type: "unsupported_embedding_type", max_num_patches: "unsupported_max_num_patches" };

/** The patch budgets a model takes here: its card's, up to the deployment's cap (its own default always). */
export function servedPatchCounts(card: ModelCard, cap: number): number[] | undefined {
  const nf = card.naflex;
  return nf?.allowedPatches.filter((n) => n <= cap || n === nf.defaultPatches);
}

/** A request's `max_num_patches` checked against the model (FixRes: refused) and the deployment's cap. */
function imageOptions(card: ModelCard, n: number | undefined, cap: number): ImageOptions {
  if (n === undefined) return {};
  const allowed = servedPatchCounts(card, cap);
  if (allowed === undefined) {
    throw new ApiError("max_num_patches_not_supported", `max_num_patches applies to NaFlex models only; ${card.id} is FixRes (${card.imageSize ?? "fixed"} px)`, { param: "max_num_patches" });
  }
  if (!allowed.includes(n)) throw new ApiError("unsupported_max_num_patches", `max_num_patches must be one of ${allowed.join(", ")} for ${card.id}, got ${n}`, { param: "max_num_patches" });
  return { maxNumPatches: n };
}

type Item = { kind: "text"; text: string } | { kind: "image"; ref: string; param: string };

function inputItems(input: EmbeddingsRequest["input"]): Item[] {
  if (typeof input === "string") return [{ kind: "text", text: input }];
  return input.map((x, i): Item => {
    if (typeof x === "string") return { kind: "text", text: x };
    if (x.type === "text") return { kind: "text", text: x.text };
    const ref = typeof x.image_url === "string" ? x.image_url : x.image_url.url;
    return { kind: "image", ref, param: `input[${i}].image_url` };
  });
}

function withLowercase(v: Parameters<typeof lowercaseMode>[0]): { lowercase?: LowercaseMode } {
  const mode = lowercaseMode(v);
  return mode === undefined ? {} : { lowercase: mode };
}

async function getModel(models: ModelProvider, id: string): Promise<SiglipPipeline> {
  try {
    return await models.get(id);
  } catch (err) {
    if (hasErrorCode(err, "UNKNOWN_CHECKPOINT")) throw new ApiError("model_not_found", err.message, { param: "model", cause: err });
    throw err;
  }
}

/** Image embeddings; a decode error names the request field of the image that failed. */
async function embedImagesNamed(model: SiglipPipeline, images: readonly Uint8Array[], params: readonly string[], options: ImageOptions): Promise<Float32Array[]> {
  try {
    return await model.embedImages(images, options);
  } catch (err) {
    throw toApiError(err, params);
  }
}

export function createApp(deps: AppDeps): Hono<Env> {
  const { config } = deps;
  const app = new Hono<Env>();
  const limiter = config.rateLimit ? new FixedWindowLimiter(config.rateLimit) : undefined;
  const admission = new Admission(config.maxConcurrent, config.maxQueued);

  app.use("*", async (c, next) => {
    const given = c.req.header("x-request-id");
    const id = given !== undefined && REQUEST_ID.test(given) ? given : newRequestId();
    c.set("requestId", id);
    c.header("x-request-id", id);
    await next();
  });

  app.onError((err, c) => {
    const api = toApiError(err);
    if (api.status >= 500) deps.logError?.(c.get("requestId"), err);
    const headers: Record<string, string> = { "x-request-id": c.get("requestId") ?? newRequestId() };
    if (api.retryAfter !== undefined) headers["retry-after"] = String(api.retryAfter);
    if (api.code === "invalid_api_key") headers["www-authenticate"] = 'Bearer realm="siglip-edge"';
    return c.json(api.body(), api.status as 400, headers);
  });

  app.notFound((c) => {
    throw new ApiError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  });

  app.get("/healthz", (c) => c.json({ status: "ok" as const }));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  app.get("/docs", async (c) => c.html(docsPage(openApiDocument(), (await deps.models.list()).map((m) => (m.naflex ? { ...m, naflex: { ...m.naflex, allowedPatches: servedPatchCounts(m, config.maxNumPatches) ?? [] } } : m)))));
  app.get("/", (c) => c.redirect("/docs"));

  app.use("/v1/*", async (c, next) => {
    let client = "anonymous";
    if (config.apiKeyHashes.length > 0) client = await checkBearer(c.req.header("authorization"), config.apiKeyHashes);
    c.set("client", client);
    limiter?.hit(client);
    await next();
  });

  app.get("/v1/models", async (c) =>
    c.json({
      object: "list" as const,
      data: (await deps.models.list()).map((m) => ({
        id: m.id,
        object: "model" as const,
        created: 0,
        owned_by: "siglip-edge",
        family: m.family,
        size: m.size,
        revision: m.revision,
        embedding_dimensions: m.embedDim,
        quantization: m.quantization,
        runs_on: m.runsOn,
        image_size: m.imageSize ?? null,
        max_num_patches: m.naflex ? { default: m.naflex.defaultPatches, allowed: servedPatchCounts(m, config.maxNumPatches) ?? [], patch_size: m.naflex.patchSize } : null,
      })),
    }),
  );

  app.post("/v1/embeddings", async (c) => {
    const req = await readJson(c, EmbeddingsRequest, config.maxBodyBytes);
    if (req.dimensions !== undefined) {
      throw new ApiError(
        "dimensions_not_supported",
        "dimensions is not supported: SigLIP embeddings are not Matryoshka-trained, so truncating them loses quality; omit dimensions to get the full embedding",
        { param: "dimensions" },
      );
    }
    const items = inputItems(req.input);
    const nImages = items.filter((x) => x.kind === "image").length;
    const texts = items.flatMap((x) => (x.kind === "text" ? [x.text] : []));
    if (nImages > config.maxImages) throw new ApiError("too_many_inputs", `at most ${config.maxImages} images per request`, { param: "input" });
    if (texts.length > config.maxTexts) throw new ApiError("too_many_inputs", `at most ${config.maxTexts} texts per request`, { param: "input" });
    const longIdx = items.findIndex((x) => x.kind === "text" && x.text.length > config.maxTextChars);
    if (longIdx !== -1) throw new ApiError("invalid_request", `texts are limited to ${config.maxTextChars} characters`, { param: `input[${longIdx}]` });
    const model = await getModel(deps.models, req.model);
    const imageOpts = imageOptions(model.card, req.max_num_patches, config.maxNumPatches);
    const imageItems = items.flatMap((x) => (x.kind === "image" ? [x] : []));
    const imageParams = imageItems.map((x) => x.param);
    const images = await Promise.all(imageItems.map((x) => loadImage(x.ref, config.images, x.param)));
    const { textVecs, imageVecs, tokens } = await admission.run(async () => {
      const t = texts.length > 0 ? await model.embedTexts(texts, withLowercase(req.lowercase)) : { embeddings: [], tokens: 0 };
      const im = images.length > 0 ? await embedImagesNamed(model, images, imageParams, imageOpts) : [];
      return { textVecs: t.embeddings, imageVecs: im, tokens: t.tokens };
    });
    let ti = 0;
    let ii = 0;
    const normalize = req.normalize ?? true;
    const data = items.map((x, index) => {
      const raw = (x.kind === "text" ? textVecs[ti++] : imageVecs[ii++]) as Float32Array;
      const q = quantizeEmbedding(normalize ? l2Normalize(raw) : raw, req.embedding_type ?? "float");
      const embedding = req.encoding_format === "base64" ? embeddingToBase64(q) : embeddingToJson(q);
      return { object: "embedding" as const, index, embedding, ...("scale" in q ? { scale: q.scale } : {}) };
    });
    c.header("x-model-revision", model.card.revision);
    c.header("x-siglip-backend", servedBy(model.card));
    return c.json({ object: "list" as const, data, model: model.card.id, usage: { prompt_tokens: tokens, total_tokens: tokens, images: images.length } });
  });

  app.post("/v1/classify", async (c) => {
    const req = await readJson(c, ClassifyRequest, config.maxBodyBytes);
    if (req.template !== undefined && req.templates !== undefined) {
      throw new ApiError("invalid_request", "give template or templates, not both", { param: "templates" });
    }
    const templates = req.templates ?? (req.template !== undefined ? [req.template] : undefined);
    templates?.forEach((t, i) => {
      if (!t.includes("{}")) throw new ApiError("invalid_request", "templates need a {} placeholder for the label", { param: req.templates ? `templates[${i}]` : "template" });
    });
    if (req.images.length > config.maxImages) throw new ApiError("too_many_inputs", `at most ${config.maxImages} images per request`, { param: "images" });
    if (req.labels.length > config.maxLabels) throw new ApiError("too_many_inputs", `at most ${config.maxLabels} labels per request`, { param: "labels" });
    if ((templates?.length ?? 1) > config.maxTemplates) throw new ApiError("too_many_inputs", `at most ${config.maxTemplates} templates`, { param: "templates" });
    const model = await getModel(deps.models, req.model);
    const imageOpts = imageOptions(model.card, req.max_num_patches, config.maxNumPatches);
    const images = await Promise.all(req.images.map((ref, i) => loadImage(ref, config.images, `images[${i}]`)));
    const results = await admission.run(async () => {
      const vecs = await embedImagesNamed(model, images, req.images.map((_, i) => `images[${i}]`), imageOpts);
      return classifyImages(model, vecs, req.labels, {
        ...(templates ? { templates } : {}),
        ...withLowercase(req.lowercase),
        ...(deps.labelCache ? { cache: deps.labelCache } : {}),
      });
    });
    c.header("x-model-revision", model.card.revision);
    c.header("x-siglip-backend", servedBy(model.card));
    return c.json({ object: "list" as const, data: results.map((scores, index) => ({ index, scores })), model: model.card.id });
  });

  for (const path of ["/v1/embeddings", "/v1/classify"]) {
    app.on(["GET", "PUT", "DELETE", "PATCH"], path, () => {
      throw new ApiError("method_not_allowed", `${path} accepts POST only`);
    });
  }
  return app;
}
