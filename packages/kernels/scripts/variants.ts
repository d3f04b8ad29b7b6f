/**
 * Writes the AssemblyScript source of the bench-only GEMM variants (the register blocks, layouts and relaxed-SIMD
 * kernels measured against the shipped 4x8 kernel in bench/gemm.ts). Each variant stores raw int32 accumulators into
 * C[rows, ldc] and takes (a, b, c, mBlocks, nPanels, kSteps, ldc). Layouts, per k step, in bytes:
 *   pairs (a): A block of MR rows: MR x [2 x i16] (splat); B panel of NR columns: NR/4 x [4 cols x 2 k]
 *              as i8 (`i8`, load8x8_s) or pre-widened i16 (`w`, v128.load)
 *   kdot (b):  k-contiguous, 8 k per step: A MR x [8 x i16], B NR x [8 x i8]; horizontal sums at the end
 *   relaxed:   4 k per step: A MR x [4 x i8] (splat), B NR/4 x [4 cols x 4 k i8], B in [0, 127]
 * @module
 */

export interface Variant {
  name: string;
  layout: "pairs" | "kdot" | "relaxed";
  mr: number;
  nr: number;
  /** pairs layout: weights pre-widened to int16 in memory */
  wide?: boolean;
  /** relaxed: "add" = relaxed_dot_i8x16_i7x16_add_s, "pair" = i16x8.relaxed_dot + extadd_pairwise + add */
  mode?: "add" | "pair";
}

export const VARIANTS: Variant[] = [
  { name: "pairs4x8i8", layout: "pairs", mr: 4, nr: 8 },
  { name: "pairs4x8w", layout: "pairs", mr: 4, nr: 8, wide: true },
  { name: "pairs3x8w", layout: "pairs", mr: 3, nr: 8, wide: true },
  { name: "pairs2x16w", layout: "pairs", mr: 2, nr: 16, wide: true },
  { name: "pairs6x8w", layout: "pairs", mr: 6, nr: 8, wide: true },
  { name: "pairs3x12w", layout: "pairs", mr: 3, nr: 12, wide: true },
  { name: "kdot2x4", layout: "kdot", mr: 2, nr: 4 },
  { name: "kdot3x3", layout: "kdot", mr: 3, nr: 3 },
  { name: "relaxedAdd4x8", layout: "relaxed", mr: 4, nr: 8, mode: "add" },
  { name: "relaxedPair3x8", layout: "relaxed", mr: 3, nr: 8, mode: "pair" },
  { name: "relaxedPair4x8", layout: "relaxed", mr: 4, nr: 8, mode: "pair" },
];

/** Bytes per k step of one A block and one B panel. */
export function stepBytes(v: Variant): { a: number; b: number } {
  if (v.layout === "pairs") return { a: v.mr * 4, b: v.nr * 2 * (v.wide ? 2 : 1) };
  if (v.layout === "kdot") return { a: v.mr * 16, b: v.nr * 8 };
  return { a: v.mr * 4, b: v.nr * 4 };
}

function header(v: Variant): string[] {
  const s = stepBytes(v);
  return [
    `export function ${v.name}(a: usize, b: usize, c: usize, mBlocks: i32, nPanels: i32, kSteps: i32, ldc: i32): void {`,
    "  for (let np = 0; np < nPanels; np++) {",
    `    const bp = b + <usize>np * <usize>kSteps * ${s.b};`,
    "    for (let mb = 0; mb < mBlocks; mb++) {",
    `      let ap = a + <usize>mb * <usize>kSteps * ${s.a};`,
    `      const aEnd = ap + <usize>kSteps * ${s.a};`,
    "      let bq = bp;",
  ];
}

function footer(v: Variant, accs: string[][]): string[] {
  const s = stepBytes(v);
  const L = [`        ap += ${s.a};`, `        bq += ${s.b};`, "      } while (ap < aEnd);"];
  L.push(`      const cp = c + ((<usize>mb * ${v.mr} * <usize>ldc + <usize>np * ${v.nr}) << 2);`);
  L.push("      const ld = <usize>ldc << 2;");
  accs.forEach((row, r) => row.forEach((acc, g) => L.push(`      v128.store(cp + ${r} * ld, ${acc}, ${g * 16});`)));
  L.push("    }", "  }", "}", "");
  return L;
}

function pairs(v: Variant): string {
  const G = v.nr / 4;
  const accs = Array.from({ length: v.mr }, (_, r) => Array.from({ length: G }, (_, g) => `c${r}_${g}`));
  const L = header(v);
  L.push("      let " + accs.flat().map((x) => `${x} = i32x4.splat(0)`).join(", ") + ";", "      do {");
  for (let g = 0; g < G; g++) L.push(v.wide ? `        const b${g} = v128.load(bq, ${g * 16});` : `        const b${g} = v128.load8x8_s(bq, ${g * 8});`);
  for (let r = 0; r < v.mr; r++) {
    L.push(`        const x${r} = v128.load32_splat(ap, ${r * 4});`);
    for (let g = 0; g < G; g++) L.push(`        c${r}_${g} = i32x4.add(c${r}_${g}, i32x4.dot_i16x8_s(x${r}, b${g}));`);
  }
  return [...L, ...footer(v, accs)].join("\n");
}

function kdot(v: Variant): string {
  const acc = Array.from({ length: v.mr }, (_, r) => Array.from({ length: v.nr }, (_, c) => `c${r}_${c}`));
  const S = stepBytes(v);
  const L = header(v);
  L.push("      let " + acc.flat().map((x) => `${x} = i32x4.splat(0)`).join(", ") + ";", "      do {");
  for (let r = 0; r < v.mr; r++) L.push(`        const x${r} = v128.load(ap, ${r * 16});`);
  for (let c = 0; c < v.nr; c++) {
    L.push(`        const w${c} = v128.load8x8_s(bq, ${c * 8});`);
    for (let r = 0; r < v.mr; r++) L.push(`        c${r}_${c} = i32x4.add(c${r}_${c}, i32x4.dot_i16x8_s(x${r}, w${c}));`);
  }
  L.push(`        ap += ${S.a};`, `        bq += ${S.b};`, "      } while (ap < aEnd);");
  L.push(`      const cp = c + ((<usize>mb * ${v.mr} * <usize>ldc + <usize>np * ${v.nr}) << 2);`, "      const ld = <usize>ldc << 2;");
  // each row's nr accumulators reduce to nr lanes, 4 at a time (a short group repeats its last column)
  acc.forEach((row, r) => {
    for (let g = 0; g < v.nr; g += 4) {
      const cols = [0, 1, 2, 3].map((i) => row[Math.min(g + i, v.nr - 1)] as string);
      const n = Math.min(4, v.nr - g);
      L.push(`      const s${r}_${g} = hsum4(${cols.join(", ")});`);
      for (let l = 0; l < n; l++) L.push(`      store<i32>(cp + ${r} * ld, i32x4.extract_lane(s${r}_${g}, ${l}), ${(g + l) * 4});`);
    }
  });
  L.push("    }", "  }", "}", "");
  return L.join("\n");
}

function relaxed(v: Variant): string {
  const G = v.nr / 4;
  const accs = Array.from({ length: v.mr }, (_, r) => Array.from({ length: G }, (_, g) => `c${r}_${g}`));
  const L = header(v);
  L.push("      let " + accs.flat().map((x) => `${x} = i32x4.splat(0)`).join(", ") + ";", "      do {");
  for (let g = 0; g < G; g++) L.push(`        const b${g} = v128.load(bq, ${g * 16});`);
  for (let r = 0; r < v.mr; r++) {
    L.push(`        const x${r} = v128.load32_splat(ap, ${r * 4});`);
    for (let g = 0; g < G; g++) {
      L.push(
        v.mode === "add"
          ? `        c${r}_${g} = i32x4.relaxed_dot_i8x16_i7x16_add_s(x${r}, b${g}, c${r}_${g});`
          : `        c${r}_${g} = i32x4.add(c${r}_${g}, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x${r}, b${g})));`,
      );
    }
  }
  return [...L, ...footer(v, accs)].join("\n");
}

const PEAK = `
// Peak rates without memory traffic: 12 independent dot+add chains, and 8 independent dots alone.
export function peakDotAdd(iters: i32, seed: i32): i32 {
  const b = i32x4.splat(seed + 1);
${Array.from({ length: 12 }, (_, i) => `  let c${i} = i32x4.splat(seed + ${i + 2});`).join("\n")}
  for (let i = 0; i < iters; i++) {
${Array.from({ length: 12 }, (_, i) => `    c${i} = i32x4.add(c${i}, i32x4.dot_i16x8_s(c${i}, b));`).join("\n")}
  }
  let s = c0;
${Array.from({ length: 11 }, (_, i) => `  s = i32x4.add(s, c${i + 1});`).join("\n")}
  return i32x4.extract_lane(s, 0);
}

export function peakDot(iters: i32, seed: i32): i32 {
  const a = i32x4.splat(seed);
  const b = i32x4.splat(seed + 1);
${Array.from({ length: 8 }, (_, i) => `  let c${i} = ${i % 2 ? "b" : "a"};`).join("\n")}
  for (let i = 0; i < iters; i++) {
${Array.from({ length: 8 }, (_, i) => `    c${i} = i32x4.dot_i16x8_s(c${i}, ${i % 2 ? "a" : "b"});`).join("\n")}
  }
  let s = c0;
${Array.from({ length: 7 }, (_, i) => `  s = i32x4.add(s, c${i + 1});`).join("\n")}
  return i32x4.extract_lane(s, 0);
}

@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}
`;

/** The AssemblyScript source of every variant plus the peak loops. */
export function variantsSource(): string {
  const parts = VARIANTS.map((v) => (v.layout === "pairs" ? pairs(v) : v.layout === "kdot" ? kdot(v) : relaxed(v)));
  return `// Generated by scripts/variants.ts (bench only; not shipped).\n${PEAK}\n${parts.join("\n")}`;
}
