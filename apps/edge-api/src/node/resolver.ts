/** DNS resolution for the image-URL guard on Node: every address a name resolves to is checked. */
import { lookup } from "node:dns/promises";
import type { Resolver } from "../image-input.ts";

export const nodeResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
