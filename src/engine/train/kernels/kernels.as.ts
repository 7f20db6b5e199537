// The hot loops of Foldwise's wasm gradient kernels, in AssemblyScript (compiled by
// scripts/build-kernels.mjs into kernels.wasm.ts). The module imports tfjs-backend-wasm's own
// memory, so every pointer here is a byte offset of a tfjs tensor on that heap: no copies in or
// out. It must allocate nothing and hold no data (its data would land on tfjs's heap), which the
// build checks. Channel runs are the innermost loop (channels-last), four floats at a time (SIMD).

/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript, not TypeScript: tsc cannot check its types */
// @ts-nocheck: AssemblyScript's types (usize, f32, v128) and builtins.

/** out = dy where x > 0, else 0 (ReLU's gradient). */
export function maskPositive(dy: usize, x: usize, out: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, v128.and(v128.load(dy + at), f32x4.gt(v128.load(x + at), zero)));
  }
  for (; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(x + at) > 0 ? load<f32>(dy + at) : 0);
  }
}

/** out = dy where lo <= x <= hi, else 0 (clipByValue's gradient). */
export function maskBetween(dy: usize, x: usize, out: usize, n: i32, lo: f32, hi: f32): void {
  const low = f32x4.splat(lo);
  const high = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = (<usize>i) << 2;
    const v = v128.load(x + at);
    v128.store(out + at, v128.and(v128.load(dy + at), v128.and(f32x4.ge(v, low), f32x4.le(v, high))));
  }
  for (; i < n; i++) {
    const at = (<usize>i) << 2;
    const v = load<f32>(x + at);
    store<f32>(out + at, v >= lo && v <= hi ? load<f32>(dy + at) : 0);
  }
}

/** out[r, c] = dy[r, c] * factor[c]. */
export function scaleChannels(dy: usize, factor: usize, out: usize, rows: i32, channels: i32): void {
  const rowBytes = (<usize>channels) << 2;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r) * rowBytes;
    let c = 0;
    for (; c + 4 <= channels; c += 4) {
      const at = (<usize>c) << 2;
      v128.store(out + row + at, f32x4.mul(v128.load(dy + row + at), v128.load(factor + at)));
    }
    for (; c < channels; c++) {
      const at = (<usize>c) << 2;
      store<f32>(out + row + at, load<f32>(dy + row + at) * load<f32>(factor + at));
    }
  }
}

/** out[r, c] = x[r, c] * factor[c] + shift[c] (batch norm with fixed statistics, folded per channel). */
export function affineChannels(x: usize, factor: usize, shift: usize, out: usize, rows: i32, channels: i32): void {
  const rowBytes = (<usize>channels) << 2;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r) * rowBytes;
    let c = 0;
    for (; c + 4 <= channels; c += 4) {
      const at = (<usize>c) << 2;
      v128.store(out + row + at, f32x4.add(f32x4.mul(v128.load(x + row + at), v128.load(factor + at)), v128.load(shift + at)));
    }
    for (; c < channels; c++) {
      const at = (<usize>c) << 2;
      store<f32>(out + row + at, load<f32>(x + row + at) * load<f32>(factor + at) + load<f32>(shift + at));
    }
  }
}

/** out = min(max(x, lo), hi). */
export function clip(x: usize, out: usize, n: i32, lo: f32, hi: f32): void {
  const low = f32x4.splat(lo);
  const high = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.min(f32x4.max(v128.load(x + at), low), high));
  }
  for (; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, min(max(load<f32>(x + at), lo), hi));
  }
}

/** sums[c] += dy[r, c] over rows; with x (not 0), sums[c] += dy[r, c] * (x[r, c] - mean[c]) instead. */
export function channelSums(dy: usize, x: usize, mean: usize, sums: usize, rows: i32, channels: i32): void {
  const rowBytes = (<usize>channels) << 2;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r) * rowBytes;
    let c = 0;
    for (; c + 4 <= channels; c += 4) {
      const at = (<usize>c) << 2;
      let v = v128.load(dy + row + at);
      if (x != 0) v = f32x4.mul(v, f32x4.sub(v128.load(x + row + at), v128.load(mean + at)));
      v128.store(sums + at, f32x4.add(v128.load(sums + at), v));
    }
    for (; c < channels; c++) {
      const at = (<usize>c) << 2;
      let v = load<f32>(dy + row + at);
      if (x != 0) v *= load<f32>(x + row + at) - load<f32>(mean + at);
      store<f32>(sums + at, load<f32>(sums + at) + v);
    }
  }
}

/** dst[c, r] = src[r, c], in 16x16 tiles. */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  const tile = 16;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          store<f32>(dst + (((<usize>c) * rows + r) << 2), load<f32>(src + (((<usize>r) * cols + c) << 2)));
        }
      }
    }
  }
}

// Convolution geometry, set once per call by setGeometry (a call with 17 arguments is clumsy and slow to wrap).
let batch = 0, inH = 0, inW = 0, inC = 0, outH = 0, outW = 0, strideH = 1, strideW = 1;
let filterH = 1, filterW = 1, dilationH = 1, dilationW = 1, padTop = 0, padLeft = 0;

export function setGeometry(b: i32, ih: i32, iw: i32, ic: i32, oh: i32, ow: i32, sh: i32, sw: i32, fh: i32, fw: i32, dh: i32, dw: i32, pt: i32, pl: i32): void {
  batch = b; inH = ih; inW = iw; inC = ic; outH = oh; outW = ow; strideH = sh; strideW = sw;
  filterH = fh; filterW = fw; dilationH = dh; dilationW = dw; padTop = pt; padLeft = pl;
}

/** out[r, c, (fr, fc, ci)] = x[b, r*s + fr*d - pad, c*s + fc*d - pad, ci], 0 in the padding (im2col). */
export function patches(x: usize, out: usize): void {
  const run = (<usize>inC) << 2;
  let at = out;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      for (let c = 0; c < outW; c++) {
        for (let fr = 0; fr < filterH; fr++) {
          const xr = r * strideH + fr * dilationH - padTop;
          for (let fc = 0; fc < filterW; fc++) {
            const xc = c * strideW + fc * dilationW - padLeft;
            if (xr < 0 || xr >= inH || xc < 0 || xc >= inW) memory.fill(at, 0, run);
            else memory.copy(at, x + (((<usize>((b * inH + xr) * inW + xc)) * inC) << 2), run);
            at += run;
          }
        }
      }
    }
  }
}

/**
 * Depthwise gradients, channel multiplier 1. filter = true: out[fr, fc, c] = sum of x[tap] * dy;
 * filter = false: out[tap pixel, c] += dy * w[fr, fc, c] (out is dx). `out` must start zeroed.
 */
export function depthwiseGradient(a: usize, dy: usize, out: usize, filter: bool): void {
  const channels = inC;
  const vectorEnd = channels & ~3;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      for (let c = 0; c < outW; c++) {
        const dyAt = dy + (((<usize>((b * outH + r) * outW + c)) * channels) << 2);
        for (let fr = 0; fr < filterH; fr++) {
          const xr = r * strideH + fr * dilationH - padTop;
          if (xr < 0 || xr >= inH) continue;
          for (let fc = 0; fc < filterW; fc++) {
            const xc = c * strideW + fc * dilationW - padLeft;
            if (xc < 0 || xc >= inW) continue;
            const pixel = ((<usize>((b * inH + xr) * inW + xc)) * channels) << 2;
            const tap = ((<usize>(fr * filterW + fc)) * channels) << 2;
            // filter: a = x, read at the pixel, sums at the tap. input: a = w, read at the tap, sums at the pixel.
            const read = a + (filter ? pixel : tap);
            const sum = out + (filter ? tap : pixel);
            let ci = 0;
            for (; ci < vectorEnd; ci += 4) {
              const at = (<usize>ci) << 2;
              v128.store(sum + at, f32x4.add(v128.load(sum + at), f32x4.mul(v128.load(read + at), v128.load(dyAt + at))));
            }
            for (; ci < channels; ci++) {
              const at = (<usize>ci) << 2;
              store<f32>(sum + at, load<f32>(sum + at) + load<f32>(read + at) * load<f32>(dyAt + at));
            }
          }
        }
      }
    }
  }
}
