// Must fail lint in a package (packages/*), pass in an app: the edge API app imported by name, by subpath and by relative path.
import { createApp } from "@siglip-edge/edge-api";
import { serveFetch } from "@siglip-edge/edge-api/node";
import { DEFAULT_CONFIG } from "../../../apps/edge-api/src/config.ts";

export const app = () => createApp({ config: DEFAULT_CONFIG } as never);
export const serve = serveFetch;
