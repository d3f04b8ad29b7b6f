/**
 * The 36 XM3600 languages (audit-metrics.md §1.4, big_vision's xm3600 builder) and the per-language prompt
 * templates the audit uses.
 * @module
 */

/** XM3600 language codes, in big_vision's order. */
export const XM3600_LANGUAGES = [
  "ar", "bn", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fil", "fr", "he", "hi", "hr", "hu", "id", "it",
  "ja", "ko", "mi", "nl", "no", "pl", "pt", "quz", "ro", "ru", "sv", "sw", "te", "th", "tr", "uk", "vi", "zh",
] as const;

export type Xm3600Language = (typeof XM3600_LANGUAGES)[number];

/** CLDR locale folder for an XM3600 code where they differ: Cusco Quechua (quz) -> CLDR's Quechua (qu). */
export const CLDR_LOCALE: Readonly<Record<string, string>> = { quz: "qu" };

/** Seven low-resource languages reported separately (audit-metrics.md §5, as in WebLI-100B). */
export const LOW_RESOURCE_LANGUAGES: readonly string[] = ["bn", "fil", "hi", "he", "mi", "sw", "te"];

// A "photo" noun per language; the template "<photo>: {}" avoids articles and grammatical agreement with the
// inserted CLDR name. Cusco Quechua gets the bare name only (no reviewed word available to us).
const PHOTO_WORD: Readonly<Record<string, string>> = {
  ar: "صورة", bn: "ছবি", cs: "fotografie", da: "foto", de: "foto", el: "φωτογραφία", en: "photo", es: "foto",
  fa: "عکس", fi: "valokuva", fil: "larawan", fr: "photo", he: "תמונה", hi: "तस्वीर", hr: "fotografija",
  hu: "fénykép", id: "foto", it: "foto", ja: "写真", ko: "사진", mi: "whakaahua", nl: "foto", no: "foto",
  pl: "zdjęcie", pt: "foto", ro: "fotografie", ru: "фотография", sv: "foto", sw: "picha", te: "ఫోటో",
  th: "ภาพถ่าย", tr: "fotoğraf", uk: "фотографія", vi: "ảnh", zh: "照片",
};

/** Templates per language; `{}` is replaced by the class name. Template 0 is always the bare name. */
export const TEMPLATES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  XM3600_LANGUAGES.map((l) => [l, PHOTO_WORD[l] === undefined ? ["{}"] : ["{}", `${PHOTO_WORD[l]}: {}`]]),
);

export const TEMPLATE_PROVENANCE =
  "Templates written by the siglip-edge authors ('{}' and '<photo>: {}', lower-case); the photo nouns are common dictionary words, not reviewed by native speakers; quz has the bare template only.";
