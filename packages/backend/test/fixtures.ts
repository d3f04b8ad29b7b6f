/**
 * Test fixtures: the tiny random-weight FixRes bundle and the repo's photos, from `@siglip-edge/export/testing` (as
 * apps/edge-api's tests build them).
 */
import { tinyBundle as tinyFixRes } from "@siglip-edge/export/testing";

export { photo, PHOTOS, TINY_ID } from "@siglip-edge/export/testing";

/** Builds the tiny bundle (folder `tiny-fixres`, no stage graphs) once per test file; returns its directory. */
export const tinyBundle = (): Promise<string> => tinyFixRes();
