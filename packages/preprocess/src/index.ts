/**
 * @siglip-edge/preprocess: SigLIP / SigLIP 2 image preprocessing, bit-exact with Hugging Face's PIL path
 * (transformers `SiglipImageProcessorPil` / `Siglip2ImageProcessorPil` after `load_image`), with no Node built-ins so
 * it runs in Workers and browsers. JPEG and WebP need `initDecoders` first (Node: `@siglip-edge/preprocess/node`).
 * @module
 */
export * from "./image.ts";
export * from "./resize.ts";
export * from "./normalize.ts";
export * from "./fixres.ts";
export * from "./naflex.ts";
export * from "./pipeline.ts";
export { decodeImage, decodeRaster, toRgb, sniffFormat, type DecodeOptions, type DecodedImage, type ImageFormat } from "./decode/index.ts";
export { applyOrientation, exifOrientation } from "./decode/exif.ts";
export type { JpegDecoderChoice } from "./decode/jpeg.ts";
export { TS_JPEG_AUTO_MIN_PIXELS } from "./jpeg-stream.ts";
export { initDecoders, decodersReady, decoderMemoryBytes, webpDecoderVersion, type DecoderModules, type WasmSource } from "./decode/wasm-codecs.ts";
/** NaFlex position-grid resampling (siglip2-spec §6.2), shared with the runtime and the exporter. */
export { antialiasBilinearWeights, resizePositionGrid } from "@siglip-edge/core";
