/**
 * Runs inside workerd (vitest project "workerd"): WASM decoders from precompiled modules, the pure-TS decoders and
 * the whole FixRes / NaFlex pipeline, compared with the same Hugging Face goldens as the Node suite.
 */
import { describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { decodeImage, fixresPixels, initDecoders, naflexPatches, preprocessFixRes, preprocessNaFlex } from "../src/index.ts";
import goldenFile from "../../../fixtures/goldens/preprocess/goldens.json";
import china from "../../../fixtures/photos/sklearn/china.jpg";
import koala from "../../../fixtures/photos/gcompris/world_animals/koala.webp";
import coffee from "../../../fixtures/photos/skimage/coffee.png";
import orient6 from "../../../fixtures/images/orientation-6.jpg";
import progressive from "../../../fixtures/images/progressive.jpg";
import alphaWebp from "../../../fixtures/images/lossy-alpha.webp";
import palette from "../../../fixtures/images/palette-8bit-trns.png";
import interlaced from "../../../fixtures/images/interlaced-rgba.png";
import gif from "../../../fixtures/images/animated.gif";
import bmp from "../../../fixtures/images/palette-8bit.bmp";
import cmyk from "../../../fixtures/images/cmyk-odd-restart.jpg";
import ycck from "../../../fixtures/goldens/preprocess/jpeg-variants/97x61-ycck420-prog-rst1.jpg";
import variantFile from "../../../fixtures/goldens/preprocess/jpeg-variants/variants.json";
import worker, { ensureDecoders, sha256Hex } from "./worker.ts";

interface Golden {
  rgb: string;
  fixres: Record<string, string>;
  naflex: Record<string, { sha256: string; spatialShape: [number, number] }>;
}
const goldens = (goldenFile as unknown as { images: Record<string, Golden> }).images;

const FILES: Record<string, ArrayBuffer> = {
  "photos/sklearn/china.jpg": china,
  "photos/gcompris/world_animals/koala.webp": koala,
  "photos/skimage/coffee.png": coffee,
  "images/orientation-6.jpg": orient6,
  "images/progressive.jpg": progressive,
  "images/lossy-alpha.webp": alphaWebp,
  "images/palette-8bit-trns.png": palette,
  "images/interlaced-rgba.png": interlaced,
  "images/animated.gif": gif,
  "images/palette-8bit.bmp": bmp,
  "images/cmyk-odd-restart.jpg": cmyk,
};

describe("preprocess inside workerd", () => {
  it("cannot compile WASM from bytes here, which is why initDecoders takes compiled modules", async () => {
    await expect(initDecoders({ jpeg: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) })).rejects.toThrow();
  });

  it("decodes every format and reproduces the HF FixRes and NaFlex tensors", async () => {
    await ensureDecoders();
    let equal = 0;
    for (const [rel, buf] of Object.entries(FILES)) {
      const g = goldens[rel];
      expect(g, rel).toBeDefined();
      const img = await decodeImage(new Uint8Array(buf));
      expect(await sha256Hex(img.data), `${rel} rgb`).toBe(g?.rgb);
      expect(await sha256Hex(fixresPixels(img, { size: 224 })), `${rel} fixres`).toBe(g?.fixres["224"]);
      const nf = naflexPatches(img, { maxNumPatches: 256 });
      expect(await sha256Hex(nf.pixelValues), `${rel} naflex`).toBe(g?.naflex["256"]?.sha256);
      equal++;
    }
    console.log(`[preprocess workerd] ${equal}/${Object.keys(FILES).length} files identical to the HF reference inside workerd`);
  });

  it("streams JPEGs through the pure-TS decoder into the resize with the reference tensors", async () => {
    let equal = 0;
    const jpegs = ["photos/sklearn/china.jpg", "images/orientation-6.jpg", "images/progressive.jpg", "images/cmyk-odd-restart.jpg"];
    for (const rel of jpegs) {
      const bytes = new Uint8Array(FILES[rel] as ArrayBuffer);
      const g = goldens[rel];
      const fx = await preprocessFixRes(bytes, { size: 224, jpegDecoder: "ts" });
      expect(await sha256Hex(fx.data), `${rel} fixres`).toBe(g?.fixres["224"]);
      const nf = await preprocessNaFlex(bytes, { maxNumPatches: 256, jpegDecoder: "ts" });
      expect(await sha256Hex(nf.pixelValues.data), `${rel} naflex`).toBe(g?.naflex["256"]?.sha256);
      equal++;
    }
    console.log(`[preprocess workerd] streaming TS JPEG route: ${equal}/${jpegs.length} files identical to the HF reference`);
  });

  it("decodes YCCK (progressive, subsampled, restart intervals) through the same TS decoder as Pillow does", async () => {
    const want = (variantFile as unknown as { files: Record<string, { rgb: string }> }).files["97x61-ycck420-prog-rst1.jpg"];
    const img = await decodeImage(new Uint8Array(ycck));
    expect([img.width, img.height]).toEqual([97, 61]);
    expect(await sha256Hex(img.data)).toBe(want?.rgb);
  });

  it("serves the pipeline through a Worker fetch handler, with typed errors for bad input", async () => {
    const res = await worker.fetch(new Request("http://x/fixres?size=256", { method: "POST", body: china }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { sha256: string }).sha256).toBe(goldens["photos/sklearn/china.jpg"]?.fixres["256"]);
    const nf = await worker.fetch(new Request("http://x/naflex?n=576", { method: "POST", body: koala }));
    const body = (await nf.json()) as { sha256: string; spatialShape: number[] };
    expect(body.sha256).toBe(goldens["photos/gcompris/world_animals/koala.webp"]?.naflex["576"]?.sha256);
    const bad = await worker.fetch(new Request("http://x/fixres", { method: "POST", body: new Uint8Array(china).slice(0, 4000) }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe("IMAGE_DECODE_FAILED");
  });

  it("keeps working after a WASM decoder failure", async () => {
    await ensureDecoders();
    await expect(decodeImage(new Uint8Array(china).slice(0, 3000))).rejects.toSatisfy((e) => hasErrorCode(e, "IMAGE_DECODE_FAILED"));
    const img = await decodeImage(new Uint8Array(china));
    expect(await sha256Hex(img.data)).toBe(goldens["photos/sklearn/china.jpg"]?.rgb);
  });
});
