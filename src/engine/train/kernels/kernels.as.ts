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

/**
 * Batch norm's backward pass with fixed statistics, in one read of dy and x: dx = dy * factor[c],
 * sums[c] += dy, sums[channels + c] += dy * (x - mean[c]). `sums` must start zeroed.
 */
export function batchNormBackward(dy: usize, x: usize, mean: usize, factor: usize, dx: usize, sums: usize, rows: i32, channels: i32): void {
  const rowBytes = (<usize>channels) << 2;
  const second = sums + rowBytes;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r) * rowBytes;
    let c = 0;
    for (; c + 4 <= channels; c += 4) {
      const at = (<usize>c) << 2;
      const g = v128.load(dy + row + at);
      v128.store(dx + row + at, f32x4.mul(g, v128.load(factor + at)));
      v128.store(sums + at, f32x4.add(v128.load(sums + at), g));
      v128.store(second + at, f32x4.add(v128.load(second + at), f32x4.mul(g, f32x4.sub(v128.load(x + row + at), v128.load(mean + at)))));
    }
    for (; c < channels; c++) {
      const at = (<usize>c) << 2;
      const g = load<f32>(dy + row + at);
      store<f32>(dx + row + at, g * load<f32>(factor + at));
      store<f32>(sums + at, load<f32>(sums + at) + g);
      store<f32>(second + at, load<f32>(second + at) + g * (load<f32>(x + row + at) - load<f32>(mean + at)));
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

/** The reverse of patches: each row's values added back at the pixels they came from. `out` (dx) must start zeroed. */
export function addPatches(cols: usize, out: usize): void {
  const channels = inC;
  let at = cols;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      for (let c = 0; c < outW; c++) {
        for (let fr = 0; fr < filterH; fr++) {
          const xr = r * strideH + fr * dilationH - padTop;
          for (let fc = 0; fc < filterW; fc++) {
            const xc = c * strideW + fc * dilationW - padLeft;
            if (xr >= 0 && xr < inH && xc >= 0 && xc < inW) {
              const to = out + (((<usize>((b * inH + xr) * inW + xc)) * channels) << 2);
              for (let ci = 0; ci < channels; ci++) {
                const o = (<usize>ci) << 2;
                store<f32>(to + o, load<f32>(to + o) + load<f32>(at + o));
              }
            }
            at += (<usize>channels) << 2;
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

/**
 * out[i, j] += sum over rows p of a[p, i] * b[p, j]: a^T x b without transposing either (a convolution's
 * filter gradient, a = patches or x, b = dy). Rows go in tiles that stay in cache while every 4x8
 * block of out is accumulated in registers over the tile. `out` must start zeroed.
 */
export function transposedProduct(a: usize, b: usize, out: usize, rows: i32, m: i32, n: i32): void {
  const tile = 64;
  const aRow = (<usize>m) << 2;
  const bRow = (<usize>n) << 2;
  const oRow = (<usize>n) << 2;
  const mBlocks = m & ~3;
  const nBlocks = n & ~7;
  for (let p0 = 0; p0 < rows; p0 += tile) {
    const p1 = min(rows, p0 + tile);
    for (let i = 0; i < mBlocks; i += 4) {
      for (let j = 0; j < nBlocks; j += 8) {
        const o0 = out + (<usize>i) * oRow + ((<usize>j) << 2);
        const o1 = o0 + oRow;
        const o2 = o1 + oRow;
        const o3 = o2 + oRow;
        let c00 = v128.load(o0), c01 = v128.load(o0, 16);
        let c10 = v128.load(o1), c11 = v128.load(o1, 16);
        let c20 = v128.load(o2), c21 = v128.load(o2, 16);
        let c30 = v128.load(o3), c31 = v128.load(o3, 16);
        let ap = a + (<usize>p0) * aRow + ((<usize>i) << 2);
        let bp = b + (<usize>p0) * bRow + ((<usize>j) << 2);
        for (let p = p0; p < p1; p++) {
          const b0 = v128.load(bp);
          const b1 = v128.load(bp, 16);
          const a0 = f32x4.splat(load<f32>(ap));
          const a1 = f32x4.splat(load<f32>(ap, 4));
          const a2 = f32x4.splat(load<f32>(ap, 8));
          const a3 = f32x4.splat(load<f32>(ap, 12));
          c00 = f32x4.add(c00, f32x4.mul(a0, b0));
          c01 = f32x4.add(c01, f32x4.mul(a0, b1));
          c10 = f32x4.add(c10, f32x4.mul(a1, b0));
          c11 = f32x4.add(c11, f32x4.mul(a1, b1));
          c20 = f32x4.add(c20, f32x4.mul(a2, b0));
          c21 = f32x4.add(c21, f32x4.mul(a2, b1));
          c30 = f32x4.add(c30, f32x4.mul(a3, b0));
          c31 = f32x4.add(c31, f32x4.mul(a3, b1));
          ap += aRow;
          bp += bRow;
        }
        v128.store(o0, c00); v128.store(o0, c01, 16);
        v128.store(o1, c10); v128.store(o1, c11, 16);
        v128.store(o2, c20); v128.store(o2, c21, 16);
        v128.store(o3, c30); v128.store(o3, c31, 16);
      }
    }
    // Rows of out past the last block of 4, and columns past the last block of 8: one value at a time.
    for (let i = 0; i < m; i++) {
      const jFrom = i < mBlocks ? nBlocks : 0;
      for (let j = jFrom; j < n; j++) {
        let sum: f32 = 0;
        let ap = a + (<usize>p0) * aRow + ((<usize>i) << 2);
        let bp = b + (<usize>p0) * bRow + ((<usize>j) << 2);
        for (let p = p0; p < p1; p++) {
          sum += load<f32>(ap) * load<f32>(bp);
          ap += aRow;
          bp += bRow;
        }
        const o = out + (<usize>i) * oRow + ((<usize>j) << 2);
        store<f32>(o, load<f32>(o) + sum);
      }
    }
  }
}
