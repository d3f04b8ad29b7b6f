/** The part of `cloudflare:test` these tests use (the full types need @cloudflare/workers-types, which clash with DOM). */
declare module "cloudflare:test" {
  export const env: Record<string, unknown>;
}
