/** wrangler module rules (test-workers/wrangler.toml): `.wasm` -> CompiledWasm, images -> Data. */
declare module "*.wasm" {
  const module: object;
  export default module;
}
declare module "*.png" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.jpg" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.webp" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.gif" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.bmp" {
  const bytes: ArrayBuffer;
  export default bytes;
}
