// Types of the generated ort-jspi.patched.mjs: onnxruntime-web/jspi's own (the patch changes no signature).
export * from "onnxruntime-web/jspi";
