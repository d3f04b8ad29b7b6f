// Read by tools/test/dependencies.test.ts: the bare specifiers are a/x, @s/b (type-only), d, c and e, in that order.
import { a } from "a/x";
import type { B } from "@s/b";
import { f } from "./f.ts";
import { g } from "node:fs";
import { env } from "cloudflare:test";
import "d";

export * from "c";
export const e = () => import("e");
export const s = 'import { h } from "h"';
/* import { i } from "i"; */
export type T = B;
export const all = [a, f, g, env, s];
