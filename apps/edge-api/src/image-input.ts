/**
 * Turns an image reference from a request into bytes: a `data:` URI (base64) or an https URL fetched with SSRF
 * guards. The guards: https only and the default port; no credentials in the URL; host names such as `localhost` and
 * `*.internal` refused; IP literals and every address a resolver returns checked against the blocked ranges (ip.ts);
 * redirects followed by hand (at most `maxRedirects`) and each hop checked again; a size cap (Content-Length first,
 * then counted while streaming) and a time cap for the whole fetch. Where no resolver exists (workerd has no DNS API),
 * host names are not resolved: Workers' outbound fetches leave through Cloudflare's network, which cannot reach a
 * deployment's private addresses; the literal-address and redirect checks still apply.
 * @module
 */
import { base64ToBytes } from "@siglip-edge/core";
import { ApiError } from "./errors.ts";
import { isBlockedAddress } from "./ip.ts";
import { readCappedBody } from "./limits.ts";

/** Resolves a host name to its addresses (Node: dns.lookup with all:true). */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface ImageFetchPolicy {
  /** Off: only data: URIs are accepted. */
  allowUrls: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  resolver?: Resolver;
  /**
   * Origins (`http://127.0.0.1:8123`) exempt from the scheme and address checks. For tests that serve images on
   * loopback; never set it in production.
   */
  testAllowOrigins?: readonly string[];
  fetch?: typeof fetch;
}

export const DEFAULT_IMAGE_POLICY: ImageFetchPolicy = {
  allowUrls: true,
  maxBytes: 10 * 1024 * 1024,
  timeoutMs: 5000,
  maxRedirects: 3,
};

const BLOCKED_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** Decodes `data:[<mime>][;base64],<data>`; only base64 image payloads are accepted. */
export function decodeDataUri(uri: string, maxBytes: number, param: string): Uint8Array {
  const comma = uri.indexOf(",");
  const header = comma === -1 ? "" : uri.slice(5, comma).toLowerCase();
  if (comma === -1 || !header.split(";").includes("base64")) {
    throw new ApiError("invalid_request", "image data URIs must be base64 (data:image/png;base64,...)", { param });
  }
  const mime = header.split(";")[0] ?? "";
  if (mime !== "" && !mime.startsWith("image/") && mime !== "application/octet-stream") {
    throw new ApiError("invalid_request", `data URI media type "${mime}" is not an image`, { param });
  }
  const payload = uri.slice(comma + 1).replace(/\s+/g, "");
  if ((payload.length / 4) * 3 > maxBytes + 3) {
    throw new ApiError("payload_too_large", `image is larger than ${maxBytes} bytes`, { param });
  }
  try {
    return base64ToBytes(payload);
  } catch {
    throw new ApiError("invalid_request", "image data URI is not valid base64", { param });
  }
}

function origin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Refuses a URL unless it is an https URL whose host is public; resolves names when a resolver is available. */
export async function checkUrl(url: URL, policy: ImageFetchPolicy, param: string): Promise<void> {
  if (policy.testAllowOrigins?.includes(origin(url))) return;
  const refuse = (why: string): never => {
    throw new ApiError("image_url_forbidden", `image URL refused: ${why}`, { param });
  };
  if (url.protocol !== "https:") refuse("only https URLs are accepted");
  if (url.username !== "" || url.password !== "") refuse("credentials in URLs are not accepted");
  if (url.port !== "" && url.port !== "443") refuse("only the default https port is accepted");
  const host = url.hostname;
  const literal = isBlockedAddress(host);
  if (literal === true) refuse("the address is private, loopback, link-local or reserved");
  if (literal === false) return;
  if (BLOCKED_NAMES.test(host) || !host.includes(".")) refuse("the host name is not public");
  if (policy.resolver !== undefined) {
    let addresses: string[];
    try {
      addresses = await policy.resolver(host);
    } catch {
      throw new ApiError("image_fetch_failed", `could not resolve ${host}`, { param });
    }
    if (addresses.length === 0) throw new ApiError("image_fetch_failed", `could not resolve ${host}`, { param });
    if (addresses.some((a) => isBlockedAddress(a) !== false)) refuse(`${host} resolves to a non-public address`);
  }
}

function readCapped(res: Response, maxBytes: number, param: string): Promise<Uint8Array> {
  return readCappedBody(res.body, res.headers.get("content-length"), maxBytes, () => new ApiError("payload_too_large", `image is larger than ${maxBytes} bytes`, { param }));
}

/** Fetches an image URL under the policy (redirects followed by hand, each hop checked). */
export async function fetchImageUrl(raw: string, policy: ImageFetchPolicy, param: string): Promise<Uint8Array> {
  if (!policy.allowUrls) {
    throw new ApiError("image_url_disabled", "image URLs are turned off on this server; send data: URIs", { param });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError("invalid_request", "image is neither a data: URI nor a valid URL", { param });
  }
  const doFetch = policy.fetch ?? fetch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      await checkUrl(url, policy, param);
      let res: Response;
      try {
        res = await doFetch(url.href, { redirect: "manual", signal: controller.signal, headers: { accept: "image/*" } });
      } catch (cause) {
        const why = controller.signal.aborted ? `timed out after ${policy.timeoutMs} ms` : "the connection failed";
        throw new ApiError("image_fetch_failed", `could not fetch the image: ${why}`, { param, cause });
      }
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        if (hop >= policy.maxRedirects) {
          throw new ApiError("image_fetch_failed", `more than ${policy.maxRedirects} redirects`, { param });
        }
        url = new URL(res.headers.get("location") as string, url);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ApiError("image_fetch_failed", `the image URL answered HTTP ${res.status}`, { param });
      }
      return await readCapped(res, policy.maxBytes, param);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A data: URI or an URL, to image bytes. */
export async function loadImage(ref: string, policy: ImageFetchPolicy, param: string): Promise<Uint8Array> {
  if (/^data:/i.test(ref)) return decodeDataUri(ref, policy.maxBytes, param);
  return fetchImageUrl(ref, policy, param);
}
