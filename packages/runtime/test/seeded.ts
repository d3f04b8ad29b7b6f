export { mulberry32 } from "@siglip-edge/core";
