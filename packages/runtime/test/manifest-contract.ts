/**
 * Compile-time contract, checked by `tsc` in `npm test`: every manifest packages/export writes is a manifest the
 * runtime reads. The runtime declares the format structurally (it must not depend on the Node-only exporter); this
 * assignment fails to compile the day the two declarations drift apart.
 */
import type { BundleManifest as WrittenManifest } from "@siglip-edge/export";
import type { BundleManifest as ReadManifest } from "../src/manifest.ts";

export const exportedManifestIsReadable = (m: WrittenManifest): ReadManifest => m;
