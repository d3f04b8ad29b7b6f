// Must fail lint two folders below any workspace but packages/core: another workspace's files reached by relative path.
import { cosine } from "../../../packages/core/src/index.ts";

export * from "../../../packages/core/src/index.ts";
export const c = cosine;
export const later = () => import("../../../packages/core/src/index.ts");
