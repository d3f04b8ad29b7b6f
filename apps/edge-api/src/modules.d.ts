/** wrangler module rules (wrangler.toml): `.wasm` -> CompiledWasm, graph fixtures -> Data. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "*.onnx" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.onnx.data" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.bin" {
  const bytes: ArrayBuffer;
  export default bytes;
}
