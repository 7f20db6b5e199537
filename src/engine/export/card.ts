// MODEL_CARD.md and its HTML twin, written from the run's own predictions: what the model knows,
// how well, where it goes wrong, and what it cannot do. One list of blocks renders to both formats.
import { argmax } from '../../shared/argmax';
import type { Split, StructureCheck } from '../../shared/types';
import { mostConfusedPairs, type SavedPrediction } from '../interpret/review';
import type { ExportMetadata } from './metadata';

export interface SplitScores {
  images: number;
  accuracy: number;
  /** confusion[actual][predicted] */
  confusion: number[][];
  perClass: { name: string; precision: number | null; recall: number | null; support: number }[];
  mostConfused: { actual: string; predicted: string; count: number }[];
}

export interface CardStats {
  classes: string[];
  /** Images per class per split, from the run's predictions. */
  counts: Record<Split, number[]>;
  valid: SplitScores | null;
  test: SplitScores | null;
}

export function scoreSplit(classes: string[], items: SavedPrediction[]): SplitScores | null {
  if (items.length === 0) return null;
  const k = classes.length;
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  for (const item of items) {
    const actual = classes.indexOf(item.label);
    if (actual < 0) continue;
    confusion[actual]![argmax(item.probabilities)]!++;
  }
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = classes.reduce((s, _, i) => s + confusion[i]![i]!, 0);
  const perClass = classes.map((name, i) => {
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, row) => s + row[i]!, 0);
    return { name, precision: predicted ? confusion[i]![i]! / predicted : null, recall: support ? confusion[i]![i]! / support : null, support };
  });
  const mostConfused = mostConfusedPairs(confusion, classes).slice(0, 5);
  return { images: total, accuracy: total ? correct / total : 0, confusion, perClass, mostConfused };
}

export function cardStats(classes: string[], items: SavedPrediction[]): CardStats {
  const counts = { train: classes.map(() => 0), valid: classes.map(() => 0), test: classes.map(() => 0) };
  for (const item of items) {
    const i = classes.indexOf(item.label);
    if (i >= 0) counts[item.split][i]!++;
  }
  return {
    classes,
    counts,
    valid: scoreSplit(classes, items.filter((i) => i.split === 'valid')),
    test: scoreSplit(classes, items.filter((i) => i.split === 'test')),
  };
}

/** 95% Wilson interval of an accuracy measured on n images: small validation sets say little. */
export function wilson(accuracy: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const centre = (accuracy + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((accuracy * (1 - accuracy)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** The confusion matrix as an SVG picture: rows are the true class, columns the prediction. */
export function confusionSvg(classes: string[], confusion: number[][]): string {
  const cell = 56;
  const label = Math.min(180, 24 + 8 * Math.max(...classes.map((c) => c.length)));
  const k = classes.length;
  const w = label + k * cell + 20;
  const h = label + k * cell + 40;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
  parts.push(`<rect width="${w}" height="${h}" fill="#ffffff"/>`);
  parts.push(`<text x="${label + (k * cell) / 2}" y="16" text-anchor="middle" font-weight="bold">predicted</text>`);
  parts.push(`<text x="14" y="${label + (k * cell) / 2}" text-anchor="middle" font-weight="bold" transform="rotate(-90 14 ${label + (k * cell) / 2})">actual</text>`);
  classes.forEach((c, j) => {
    const x = label + j * cell + cell / 2;
    parts.push(`<text x="${x}" y="${label - 8}" text-anchor="start" transform="rotate(-45 ${x} ${label - 8})">${esc(c)}</text>`);
  });
  classes.forEach((c, i) => {
    const y = label + i * cell + cell / 2 + 4;
    parts.push(`<text x="${label - 8}" y="${y}" text-anchor="end">${esc(c)}</text>`);
    const total = confusion[i]!.reduce((a, b) => a + b, 0);
    confusion[i]!.forEach((count, j) => {
      const share = total ? count / total : 0;
      // Blue for the diagonal (right), orange for mistakes; darker means a larger share of the row.
      const hue = i === j ? '33,102,172' : '214,96,77';
      const x = label + j * cell;
      parts.push(`<rect x="${x}" y="${label + i * cell}" width="${cell - 2}" height="${cell - 2}" fill="rgba(${hue},${(0.08 + 0.92 * share).toFixed(3)})" stroke="#999" stroke-width="0.5"/>`);
      parts.push(`<text x="${x + cell / 2 - 1}" y="${label + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${share > 0.55 ? '#fff' : '#000'}">${count}</text>`);
    });
  });
  parts.push(`<text x="${label}" y="${h - 12}" fill="#555">Rows: true class. Columns: what the model said.</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** What each format is, for the card's first paragraph. */
const FORMAT_NAMES: Record<string, string> = {
  tfjs: 'TensorFlow.js graph model',
  onnx: 'ONNX (opset 13)',
  tflite: 'TFLite (float32)',
  'tflite-fp16': 'TFLite (float16 weights)',
  'tflite-int8': 'TFLite (8-bit: int8 weights and values, ranges measured on training photos; float32 input, head and output)',
  coreml: 'Core ML neural network classifier (specification version 4: iOS 13, macOS 10.15 and later)',
};

type Block =
  | { h: 1 | 2 | 3; text: string }
  | { p: string }
  | { ul: string[] }
  | { table: { head: string[]; rows: string[][] } }
  | { img: { src: string; alt: string } };

export interface CardInput {
  meta: ExportMetadata;
  stats: CardStats;
  /** Predictions compared with the app's, or (Core ML) only the structure checked. */
  verified: { kind?: 'predictions'; images: number; agreement: number; maxAbsDiff: number; meanAbsDiff?: number; accuracy: number | null } | StructureCheck;
  files: string[];
  /** Usage files written beside the model, with one line each. */
  usage: { file: string; what: string }[];
  confusionPicture: string | null;
  /** Which backbone layers training changed (the run's metadata.fineTune); absent or null: none, or not recorded. */
  trainedLayers?: { layers: 'top' | 'whole'; cut: string | null } | null;
}

/** What the card says about the backbone's weights, in a parenthesis after its name. */
export function backboneWords(fineTuned: boolean, trained: CardInput['trainedLayers']): string {
  if (!fineTuned) return ' (ImageNet weights, frozen)';
  if (trained?.layers === 'top') return ` (ImageNet weights; its top layers, those above ${trained.cut ?? 'the cut'}, fine-tuned on these photos and the rest frozen)`;
  if (trained?.layers === 'whole') return ' (ImageNet weights, every layer fine-tuned on these photos)';
  return ' (fine-tuned)';
}

function blocks(input: CardInput): Block[] {
  const { meta, stats, verified } = input;
  const out: Block[] = [];
  const classes = stats.classes;
  out.push({ h: 1, text: `Model card: ${classes.join(' / ')} classifier` });
  out.push({
    p: `An image classifier made with Foldwise ${meta.appVersion} on ${meta.createdAt.slice(0, 10)}, built on ${meta.backbone.name}${backboneWords(meta.backbone.fineTuned, input.trainedLayers)}. Format: ${FORMAT_NAMES[meta.format] ?? meta.format}, file ${meta.modelFile}.`,
  });

  out.push({ h: 2, text: 'Classes it knows' });
  out.push({
    table: {
      head: ['class', 'training images', 'validation images', 'test images'],
      rows: classes.map((c, i) => [c, String(stats.counts.train[i]), String(stats.counts.valid[i]), String(stats.counts.test[i])]),
    },
  });

  out.push({ h: 2, text: 'How well it works' });
  const lines: string[] = [];
  const validAcc = meta.metrics.validAccuracy ?? stats.valid?.accuracy ?? null;
  if (validAcc !== null && stats.valid) {
    const [lo, hi] = wilson(validAcc, stats.valid.images);
    lines.push(`Validation accuracy: ${pct(validAcc)} on ${stats.valid.images} images (95% range ${pct(lo)} to ${pct(hi)}).`);
  } else lines.push('Validation accuracy: not measured (the run kept no validation images).');
  const testAcc = meta.metrics.testAccuracy ?? stats.test?.accuracy ?? null;
  lines.push(testAcc !== null && stats.test ? `Test accuracy: ${pct(testAcc)} on ${stats.test.images} images never used to choose anything.` : 'Test accuracy: no test split was set aside, so there is no independent score.');
  if (verified.kind === 'structure') {
    lines.push(
      `This exported file: ${verified.summary}. ${verified.checker} says ${verified.answer}; nothing on Linux or Windows runs Core ML, so whether it gives the app's answers is not known yet. ` +
        'On a Mac, iPhone or iPad, checkSamples() in the Swift file (or `python predict.py --check` on a Mac) compares its answers for the photos in samples/ with the app\'s.',
    );
  } else {
    lines.push(
      `This exported file was reloaded and checked on ${verified.images} validation images: it agrees with the app on ${pct(verified.agreement)} of them ` +
        `(largest probability difference ${verified.maxAbsDiff.toExponential(1)}${verified.meanAbsDiff === undefined ? '' : `, ${verified.meanAbsDiff.toExponential(1)} on average`})${verified.accuracy === null ? '' : ` and gets ${pct(verified.accuracy)} right`}.`,
    );
  }
  out.push({ ul: lines });
  if (stats.valid) {
    out.push({ h: 3, text: 'Per class (validation)' });
    out.push({
      table: {
        head: ['class', 'precision', 'recall', 'images'],
        rows: stats.valid.perClass.map((c) => [c.name, pct(c.precision), pct(c.recall), String(c.support)]),
      },
    });
    out.push({ p: 'Precision: when the model says this class, how often it is right. Recall: of the photos of this class, how many it finds.' });
    if (input.confusionPicture) {
      out.push({ h: 3, text: 'Confusion matrix (validation)' });
      out.push({ img: { src: input.confusionPicture, alt: 'Confusion matrix: rows are the true class, columns the prediction' } });
    }
  }

  out.push({ h: 2, text: 'What it is not good for' });
  const limits: string[] = [
    `It only knows these ${classes.length} classes: ${classes.join(', ')}. Shown anything else (another animal, a blank wall, a screenshot) it still answers one of them, often with high confidence. Add an "other" class with such photos if your app will see them.`,
  ];
  if (stats.valid && stats.valid.mostConfused.length > 0) {
    for (const c of stats.valid.mostConfused.slice(0, 3)) limits.push(`It confuses ${c.actual} with ${c.predicted}: ${c.count} validation photo${c.count === 1 ? ' of ' + c.actual + ' was' : 's of ' + c.actual + ' were'} called ${c.predicted}.`);
  } else if (stats.valid) limits.push('It made no mistakes on the validation photos; with this few photos that does not mean it never will.');
  if (stats.valid && stats.valid.images < 100) limits.push(`The validation set is small (${stats.valid.images} images), so the accuracy above is a rough estimate.`);
  limits.push('It learned from the photos it was given: lighting, backgrounds and cameras unlike those photos can lower its accuracy.');
  out.push({ ul: limits });

  out.push({ h: 2, text: 'How to feed it' });
  const imageInput = meta.format === 'coreml';
  out.push({
    ul: [
      imageInput
        ? `Input "${meta.input.name}": an RGB image of ${meta.input.shape[1]}x${meta.input.shape[2]} (a CVPixelBuffer, or any image through Vision); scaling happens inside the model.`
        : `Input "${meta.input.name}": float32, shape [N, ${meta.input.shape[1]}, ${meta.input.shape[2]}, 3], RGB values 0 to 255 (scaling happens inside the model).`,
      `Before that: ${meta.recipe.description}${imageInput ? " With Vision, imageCropAndScaleOption = .centerCrop does the resizing and cropping (with Core ML's own resampling, not exactly the app's)." : ''}`,
      imageInput
        ? `Outputs "label" (the most likely class) and "${meta.output.name}" (a dictionary from each class to its probability): ${classes.join(', ')}.`
        : `Output "${meta.output.name}": ${classes.length} probabilities per image, in this order: ${classes.join(', ')}.`,
      ...(meta.testTimeAugmentation === 'none' ? [] : ['Inside, the model looks at the photo and at its mirror image and averages the two answers, as the app does; do not mirror photos yourself.']),
    ],
  });
  out.push({ h: 2, text: 'Files' });
  const samples = input.files.filter((f) => f.startsWith('samples/') && !f.endsWith('.json')).length;
  const samplesLine = samples > 0 ? [`samples/: ${samples} checking photos with the app's probabilities for them${input.verified.kind === 'structure' ? '' : " and this model's when Foldwise checked it"} (expected.json); each snippet's check mode compares its own answers with these.`] : [];
  out.push({ ul: [...input.files.filter((f) => !f.startsWith('samples/')), ...samplesLine, ...input.usage.map((u) => `${u.file}: ${u.what}`)] });
  return out;
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|');

export function renderMarkdown(input: CardInput): string {
  return (
    blocks(input)
      .map((b) => {
        if ('h' in b) return `${'#'.repeat(b.h)} ${b.text}`;
        if ('p' in b) return b.p;
        if ('ul' in b) return b.ul.map((l) => `- ${l}`).join('\n');
        if ('img' in b) return `![${b.img.alt}](${b.img.src})`;
        const { head, rows } = b.table;
        return [`| ${head.map(mdCell).join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
      })
      .join('\n\n') + '\n'
  );
}

export function renderHtml(input: CardInput, inlineSvg: string | null): string {
  const body = blocks(input)
    .map((b) => {
      if ('h' in b) return `<h${b.h}>${esc(b.text)}</h${b.h}>`;
      if ('p' in b) return `<p>${esc(b.p)}</p>`;
      if ('ul' in b) return `<ul>${b.ul.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`;
      if ('img' in b) return inlineSvg ? `<figure>${inlineSvg}<figcaption>${esc(b.img.alt)}</figcaption></figure>` : `<img src="${esc(b.img.src)}" alt="${esc(b.img.alt)}">`;
      const { head, rows } = b.table;
      return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model card</title>
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .7rem;text-align:left}th{background:#f3f3f3}
figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}</style></head>
<body>
${body}
</body></html>
`;
}
