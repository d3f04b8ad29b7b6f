import { exportTransformersJs } from "@siglip-edge/export";
const [ck, out, dtype] = process.argv.slice(2) as [string, string, string];
await exportTransformersJs(ck, out, { dtype: dtype as "int8" });
console.log("ok");
