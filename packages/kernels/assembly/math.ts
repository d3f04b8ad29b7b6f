// f32x4 exp and tanh-GELU. exp: Cephes expf (range reduction by ln2 in two parts, degree-6 polynomial), inputs
// clamped to [-87.33654, 88.72283] (below: about 1.2e-38 instead of a smaller number or 0; above: 3.4e38, the
// largest float, instead of +inf). The tests
// sweep it against Math.exp and state the largest error in ulps.

@inline const EXP_HI: f32 = 88.72283;
@inline const EXP_LO: f32 = -87.33654;

@inline export function exp4(x0: v128): v128 {
  // pmin / pmax are one instruction each on x64 (min / max are NaN- and -0-exact sequences); NaN in: NaN out is not
  // kept (it clamps to EXP_LO), inputs are finite here
  const x = f32x4.pmax(f32x4.pmin(x0, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  // n = roundHalfEven(x log2 e) through the 1.5 * 2^23 trick: exact for |n| < 2^22, and cheaper than nearest +
  // trunc_sat (which V8 lowers to a saturating sequence)
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const n = i32x4.sub(t, i32x4.splat(0x4b400000));
  const fx = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n as 2^(n >> 1) * 2^(n - (n >> 1)): n reaches 128 near the top of the range, where 2^n alone is not a float
  const n1 = i32x4.shr_s(n, 1);
  const bias = i32x4.splat(127);
  const p1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const p2 = i32x4.shl(i32x4.add(i32x4.sub(n, n1), bias), 23);
  return f32x4.mul(f32x4.mul(y, p1), p2);
}

// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))).
@inline export function gelu4(x: v128): v128 {
  const t = f32x4.mul(x, x);
  const z = f32x4.mul(x, f32x4.add(f32x4.splat(-1.5957691216057308), f32x4.mul(t, f32x4.splat(-0.07135481627159025))));
  return f32x4.div(x, f32x4.add(f32x4.splat(1), exp4(z)));
}

/** dst[i] = exp(src[i]) for i < n (n a multiple of 4). */
export function expF32(src: usize, dst: usize, n: i32): void {
  const end = src + (<usize>n << 2);
  while (src < end) {
    v128.store(dst, exp4(v128.load(src)));
    src += 16;
    dst += 16;
  }
}

/** dst[i] = gelu_tanh(src[i]) for i < n (n a multiple of 4). */
export function geluF32(src: usize, dst: usize, n: i32): void {
  const end = src + (<usize>n << 2);
  while (src < end) {
    v128.store(dst, gelu4(v128.load(src)));
    src += 16;
    dst += 16;
  }
}
