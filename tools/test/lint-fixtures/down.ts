// Must pass lint anywhere: another workspace by package name (and its `./testing` entry), the shared root fixtures/ and node_modules/ by path.
import { cosine } from "@siglip-edge/core";
import { plantRetrieval } from "@siglip-edge/metrics/testing";
import goldens from "../../../fixtures/goldens/preprocess/goldens.json";

export const c = cosine;
export const p = plantRetrieval;
export const g = goldens;
