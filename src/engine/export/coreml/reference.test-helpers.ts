// A small interpreter of the Core ML layers Foldwise writes, following the semantics Apple documents
// in NeuralNetwork.proto (CHW blobs, OIHW weights, grouped convolutions, ValidPadding amounts, the
// (Seq, C, H, W) permute). It is not Core ML: it lets tests check that weights, paddings and the
// mirror are laid out as Apple's documentation says, which is as close as Linux gets to running it.
import type { Layer } from './layers';
import { layerKind } from './layers';
import type { MlModelSpec } from './proto';

interface Blob {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

type P = Record<string, unknown>;
const floats = (w: unknown) => (w as { floatValue: number[] }).floatValue;
const edges = (p: P) => {
  const amounts = ((p.valid as P | undefined)?.paddingAmounts as { borderAmounts?: { startEdgeSize?: number; endEdgeSize?: number }[] } | undefined)?.borderAmounts ?? [];
  const e = (i: number, k: 'startEdgeSize' | 'endEdgeSize') => Number(amounts[i]?.[k] ?? 0);
  return { top: e(0, 'startEdgeSize'), bottom: e(0, 'endEdgeSize'), left: e(1, 'startEdgeSize'), right: e(1, 'endEdgeSize') };
};
const blob = (c: number, h: number, w: number): Blob => ({ c, h, w, data: new Float32Array(c * h * w) });
const map = (x: Blob, f: (v: number, channel: number) => number): Blob => {
  const y = blob(x.c, x.h, x.w);
  const hw = x.h * x.w;
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]!, Math.floor(i / hw));
  return y;
};

function convolution(x: Blob, p: P): Blob {
  const [kh, kw] = (p.kernelSize as number[]).map(Number) as [number, number];
  const [sh, sw] = ((p.stride as number[]) ?? [1, 1]).map(Number) as [number, number];
  const [dh, dw] = ((p.dilationFactor as number[]) ?? [1, 1]).map(Number) as [number, number];
  const { top, bottom, left, right } = edges(p);
  const out = Number(p.outputChannels);
  const kc = Number(p.kernelChannels);
  const groups = Number(p.nGroups ?? 1);
  const ho = Math.floor((x.h + top + bottom - ((kh - 1) * dh + 1)) / sh) + 1;
  const wo = Math.floor((x.w + left + right - ((kw - 1) * dw + 1)) / sw) + 1;
  const weights = floats(p.weights);
  const bias = p.hasBias ? floats(p.bias) : null;
  const y = blob(out, ho, wo);
  const perGroup = out / groups;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && groups === 1 && top + bottom + left + right === 0) {
    // Pointwise: a matrix product over channels (most of the work), row by row for speed.
    const hw = x.h * x.w;
    for (let o = 0; o < out; o++) {
      const row = y.data.subarray(o * hw, (o + 1) * hw);
      row.fill(bias ? bias[o]! : 0);
      for (let k = 0; k < kc; k++) {
        const wk = weights[o * kc + k]!;
        if (wk === 0) continue;
        const src = x.data.subarray(k * hw, (k + 1) * hw);
        for (let s = 0; s < hw; s++) row[s]! += wk * src[s]!;
      }
    }
    return y;
  }
  for (let o = 0; o < out; o++) {
    const first = Math.floor(o / perGroup) * kc;
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        let sum = bias ? bias[o]! : 0;
        for (let k = 0; k < kc; k++)
          for (let i = 0; i < kh; i++) {
            const iy = oy * sh + i * dh - top;
            if (iy < 0 || iy >= x.h) continue;
            for (let j = 0; j < kw; j++) {
              const ix = ox * sw + j * dw - left;
              if (ix < 0 || ix >= x.w) continue;
              sum += weights[((o * kc + k) * kh + i) * kw + j]! * x.data[((first + k) * x.h + iy) * x.w + ix]!;
            }
          }
        y.data[(o * ho + oy) * wo + ox] = sum;
      }
  }
  return y;
}

function pooling(x: Blob, p: P): Blob {
  const max = p.type === 'MAX';
  if (p.globalPooling) {
    const y = blob(x.c, 1, 1);
    const hw = x.h * x.w;
    for (let c = 0; c < x.c; c++) {
      const row = x.data.subarray(c * hw, (c + 1) * hw);
      y.data[c] = max ? Math.max(...row) : row.reduce((a, b) => a + b, 0) / hw;
    }
    return y;
  }
  const [kh, kw] = (p.kernelSize as number[]).map(Number) as [number, number];
  const [sh, sw] = (p.stride as number[]).map(Number) as [number, number];
  const { top, bottom, left, right } = edges(p);
  const ho = Math.floor((x.h + top + bottom - kh) / sh) + 1;
  const wo = Math.floor((x.w + left + right - kw) / sw) + 1;
  const y = blob(x.c, ho, wo);
  for (let c = 0; c < x.c; c++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        let acc = max ? -Infinity : 0;
        let n = 0;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const iy = oy * sh + i - top;
            const ix = ox * sw + j - left;
            if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
            const v = x.data[(c * x.h + iy) * x.w + ix]!;
            acc = max ? Math.max(acc, v) : acc + v;
            n++;
          }
        y.data[(c * ho + oy) * wo + ox] = max ? acc : acc / (p.avgPoolExcludePadding ? n : kh * kw);
      }
  return y;
}

function activation(x: Blob, p: P): Blob {
  const [kind, q] = Object.entries(p).find(([, v]) => v !== null && typeof v === 'object') as [string, P]; // skips the oneof's name
  switch (kind) {
    case 'ReLU':
      return map(x, (v) => Math.max(v, 0));
    case 'linear':
      return map(x, (v) => Number(q.alpha ?? 0) * v + Number(q.beta ?? 0));
    case 'sigmoid':
      return map(x, (v) => 1 / (1 + Math.exp(-v)));
    case 'tanh':
      return map(x, Math.tanh);
    case 'leakyReLU':
      return map(x, (v) => (v >= 0 ? v : Number(q.alpha) * v));
    case 'ELU':
      return map(x, (v) => (v >= 0 ? v : Number(q.alpha) * (Math.exp(v) - 1)));
    default:
      throw new Error(`the reference interpreter has no ${kind} activation`);
  }
}

function run(layer: Layer, inputs: Blob[]): Blob {
  const kind = layerKind(layer);
  const p = layer[kind] as P;
  const x = inputs[0]!;
  switch (kind) {
    case 'convolution':
      return convolution(x, p);
    case 'pooling':
      return pooling(x, p);
    case 'activation':
      return activation(x, p);
    case 'clip':
      return map(x, (v) => Math.min(Math.max(v, Number(p.minVal ?? 0)), Number(p.maxVal ?? 0)));
    case 'add':
    case 'multiply':
    case 'average': {
      const y = blob(x.c, x.h, x.w);
      for (let i = 0; i < y.data.length; i++) {
        const vs = inputs.map((b) => b.data[i]!);
        y.data[i] = kind === 'add' ? vs.reduce((a, b) => a + b, 0) : kind === 'multiply' ? vs.reduce((a, b) => a * b, 1) : vs.reduce((a, b) => a + b, 0) / vs.length;
      }
      return y;
    }
    case 'innerProduct': {
      const out = Number(p.outputChannels);
      const w = floats(p.weights);
      const b = p.hasBias ? floats(p.bias) : null;
      const y = blob(out, 1, 1);
      for (let o = 0; o < out; o++) {
        let s = b ? b[o]! : 0;
        for (let i = 0; i < x.data.length; i++) s += w[o * x.data.length + i]! * x.data[i]!;
        y.data[o] = s;
      }
      return y;
    }
    case 'softmax': {
      const y = blob(x.c, x.h, x.w);
      const hw = x.h * x.w;
      for (let s = 0; s < hw; s++) {
        let m = -Infinity;
        for (let c = 0; c < x.c; c++) m = Math.max(m, x.data[c * hw + s]!);
        let total = 0;
        for (let c = 0; c < x.c; c++) total += y.data[c * hw + s] = Math.exp(x.data[c * hw + s]! - m);
        for (let c = 0; c < x.c; c++) y.data[c * hw + s]! /= total;
      }
      return y;
    }
    case 'scale': {
      const sc = floats(p.scale);
      const bi = p.hasBias ? floats(p.bias) : null;
      return map(x, (v, c) => v * sc[sc.length === 1 ? 0 : c]! + (bi ? bi[bi.length === 1 ? 0 : c]! : 0));
    }
    case 'padding': {
      const amounts = (p.paddingAmounts as { borderAmounts: { startEdgeSize?: number; endEdgeSize?: number }[] }).borderAmounts;
      const [t, b, l, r] = [amounts[0]?.startEdgeSize, amounts[0]?.endEdgeSize, amounts[1]?.startEdgeSize, amounts[1]?.endEdgeSize].map((v) => Number(v ?? 0)) as [number, number, number, number];
      const y = blob(x.c, x.h + t + b, x.w + l + r); // constant 0
      for (let c = 0; c < x.c; c++) for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) y.data[(c * y.h + i + t) * y.w + j + l] = x.data[(c * x.h + i) * x.w + j]!;
      return y;
    }
    case 'permute': {
      if ((p.axis as number[]).map(Number).join() !== '0,3,2,1') throw new Error('the reference interpreter only swaps C and W');
      const y = blob(x.w, x.h, x.c);
      for (let c = 0; c < x.c; c++) for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) y.data[(j * x.h + i) * x.c + c] = x.data[(c * x.h + i) * x.w + j]!;
      return y;
    }
    case 'concat': {
      const y = blob(inputs.reduce((s, b) => s + b.c, 0), x.h, x.w);
      let offset = 0;
      for (const b of inputs) {
        y.data.set(b.data, offset);
        offset += b.data.length;
      }
      return y;
    }
    default:
      throw new Error(`the reference interpreter has no ${kind} layer`);
  }
}

/** Probabilities (in label order) of a decoded classifier spec for one photo: RGB 0-255, HWC. */
export function interpretClassifier(spec: MlModelSpec, pixels: Uint8Array, size: number): Float32Array {
  const nn = spec.neuralNetworkClassifier as { layers: Layer[]; preprocessing?: { scaler?: Record<string, number> }[]; labelProbabilityLayerName: string };
  const input = (spec.description as { input: { name: string }[] }).input[0]!.name;
  const s = nn.preprocessing?.[0]?.scaler ?? {};
  const scale = Number(s.channelScale ?? 1);
  const bias = [s.redBias, s.greenBias, s.blueBias].map((v) => Number(v ?? 0));
  const image = blob(3, size, size);
  for (let c = 0; c < 3; c++) for (let i = 0; i < size * size; i++) image.data[c * size * size + i] = pixels[i * 3 + c]! * scale + bias[c]!;
  const blobs = new Map<string, Blob>([[input, image]]);
  for (const layer of nn.layers) blobs.set(layer.output[0]!, run(layer, layer.input.map((i) => blobs.get(i)!)));
  return blobs.get(nn.labelProbabilityLayerName)!.data;
}
