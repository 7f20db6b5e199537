// Turns a coarse Grad-CAM grid into a picture people can read: upsampled smoothly to the photo,
// coloured with Google's Turbo map (blue = ignored, red = decisive) and blended over the photo.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

/** Bilinear upsampling of a [height, width] grid to size x size, each cell centred on the region it sees. */
export async function upsampleCam(cam: Float32Array, height: number, width: number, size: number): Promise<Float32Array> {
  const up = tf.tidy(() => tf.clipByValue(tf.image.resizeBilinear(tf.tensor4d(cam, [1, height, width, 1]), [size, size], false, true), 0, 1));
  const values = Float32Array.from(await up.data()); // async: WebGPU in Node has no synchronous read
  up.dispose();
  return values;
}

/**
 * Turbo colour map, polynomial approximation by Ruofei Du of Anton Mikhailov's Turbo (Apache-2.0):
 * perceptually smoother than jet, and still readable in greyscale.
 */
export function turbo(value: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, value));
  const x2 = x * x;
  const x3 = x2 * x;
  const x4 = x2 * x2;
  const x5 = x4 * x;
  const r = 0.13572138 + 4.6153926 * x - 42.66032258 * x2 + 132.13108234 * x3 - 152.94239396 * x4 + 59.28637943 * x5;
  const g = 0.09140261 + 2.19418839 * x + 4.84296658 * x2 - 14.18503333 * x3 + 4.27729857 * x4 + 2.82956604 * x5;
  const b = 0.1066733 + 12.64194608 * x - 60.58204836 * x2 + 110.36276771 * x3 - 89.90310912 * x4 + 27.34824973 * x5;
  const byte = (c: number) => Math.round(255 * Math.min(1, Math.max(0, c)));
  return [byte(r), byte(g), byte(b)];
}

export interface BlendOptions {
  /** Opacity of the colour where the heatmap is 1; it falls in proportion to the heat, down to none at 0. */
  maxAlpha?: number;
}

/**
 * Alpha-blends the coloured heatmap (values 0-1, one per pixel) over an RGB image of the same size.
 * The colour's opacity is proportional to the heat (as fast.ai and the Grad-CAM papers show it): parts
 * the model ignored stay the plain photo, so the few places it looked stand out instead of drowning in
 * a blue wash, and a weak spot reads as faint rather than as loud as the peak.
 */
export function blendHeatmap(rgb: Uint8Array, heat: Float32Array, options: BlendOptions = {}): Uint8Array {
  const { maxAlpha = 0.6 } = options;
  if (rgb.length !== heat.length * 3) throw new RangeError(`image has ${rgb.length / 3} pixels, heatmap ${heat.length}`);
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < heat.length; i++) {
    const v = Math.min(1, Math.max(0, heat[i]!));
    const alpha = maxAlpha * v;
    // Turbo's ends are near black, which reads as a shadow over a photo: use the blue-to-bright-red part.
    const color = turbo(0.12 + 0.78 * v);
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round((1 - alpha) * rgb[3 * i + c]! + alpha * color[c]!);
  }
  return out;
}

/** The overlay as PNG bytes: `rgb` is size x size x 3, the cam its coarse [height, width] grid. */
export async function overlayPng(rgb: Uint8Array, size: number, cam: Float32Array, height: number, width: number): Promise<Buffer> {
  const blended = blendHeatmap(rgb, await upsampleCam(cam, height, width, size));
  return sharp(blended, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}
