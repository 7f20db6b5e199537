import { describe, expect, it } from 'vitest';
import { reviewPredictions, toReviewItem, type SavedPrediction } from './review';

const classes = ['cat', 'dog', 'fox'];
const p = (file: string, split: SavedPrediction['split'], label: string, probabilities: number[]): SavedPrediction => ({
  file,
  id: `id-${file}`,
  split,
  label,
  probabilities,
});

// Worked by hand: rows are actual classes, columns predicted.
//   cat: a ok, b->dog, c->dog      dog: d ok, e ok      fox: f->cat, g ok
const predictions: SavedPrediction[] = [
  p('a.jpg', 'valid', 'cat', [0.8, 0.1, 0.1]),
  p('b.jpg', 'valid', 'cat', [0.3, 0.6, 0.1]),
  p('c.jpg', 'valid', 'cat', [0.1, 0.85, 0.05]),
  p('d.jpg', 'valid', 'dog', [0.2, 0.7, 0.1]),
  p('e.jpg', 'valid', 'dog', [0.05, 0.9, 0.05]),
  p('f.jpg', 'valid', 'fox', [0.5, 0.1, 0.4]),
  p('g.jpg', 'valid', 'fox', [0.1, 0.2, 0.7]),
  // Training images: t1 and t5 are confidently "something else"; t3 is wrong but unsure.
  p('t1.jpg', 'train', 'cat', [0.05, 0.9, 0.05]),
  p('t2.jpg', 'train', 'dog', [0.1, 0.8, 0.1]),
  p('t3.jpg', 'train', 'fox', [0.6, 0.1, 0.3]),
  p('t4.jpg', 'train', 'fox', [0.02, 0, 0.98]),
  p('t5.jpg', 'train', 'dog', [0.75, 0.2, 0.05]),
  // The test split is never part of the review: this mistake must not show up anywhere.
  p('x.jpg', 'test', 'dog', [0.99, 0.005, 0.005]),
];

describe('reviewPredictions', () => {
  const review = reviewPredictions('/runs/r1', classes, predictions);

  it('counts the validation confusion matrix with rows actual and columns predicted', () => {
    expect(review.confusion).toEqual([
      [1, 2, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    expect(review.accuracy).toBeCloseTo(4 / 7, 10);
    expect(review.predictions.map((i) => i.file)).toEqual(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg', 'g.jpg']);
  });

  it('computes precision, recall, F1 and support per class', () => {
    const [cat, dog, fox] = review.perClass;
    expect(cat).toMatchObject({ name: 'cat', support: 3 });
    expect(cat!.precision).toBeCloseTo(1 / 2);
    expect(cat!.recall).toBeCloseTo(1 / 3);
    expect(cat!.f1).toBeCloseTo(0.4);
    expect(dog).toMatchObject({ name: 'dog', support: 2, recall: 1 });
    expect(dog!.precision).toBeCloseTo(1 / 2);
    expect(dog!.f1).toBeCloseTo(2 / 3);
    expect(fox).toMatchObject({ name: 'fox', support: 2, precision: 1 });
    expect(fox!.recall).toBeCloseTo(1 / 2);
    expect(fox!.f1).toBeCloseTo(2 / 3);
  });

  it('lists the most confused pairs, most frequent first', () => {
    expect(review.mostConfused).toEqual([
      { actual: 'cat', predicted: 'dog', count: 2 },
      { actual: 'fox', predicted: 'cat', count: 1 },
    ]);
  });

  it('puts the most confident mistakes first in top losses, and only mistakes', () => {
    expect(review.topLosses.map((i) => i.file)).toEqual(['c.jpg', 'b.jpg', 'f.jpg']);
    const c = review.topLosses[0]!;
    expect(c).toMatchObject({ actual: 'cat', predicted: 'dog', split: 'valid', id: 'id-c.jpg' });
    expect(c.probability).toBeCloseTo(0.85);
    expect(c.loss).toBeCloseTo(-Math.log(0.1));
    expect(c.margin).toBeCloseTo(0.75);
  });

  it('orders uncertain images by the smallest top-1 minus top-2 margin', () => {
    expect(review.uncertain.map((i) => i.file)).toEqual(['f.jpg', 'b.jpg', 'd.jpg', 'g.jpg', 'a.jpg', 'c.jpg', 'e.jpg']);
    expect(review.uncertain[0]!.margin).toBeCloseTo(0.1);
  });

  it('flags training images the model confidently puts in another class, worst first', () => {
    expect(review.likelyMislabelled.map((i) => [i.file, i.actual, i.predicted])).toEqual([
      ['t1.jpg', 'cat', 'dog'],
      ['t5.jpg', 'dog', 'cat'],
    ]);
    expect(review.likelyMislabelled[0]!.loss).toBeCloseTo(-Math.log(0.05));
    expect(review.likelyMislabelled.every((i) => i.split === 'train')).toBe(true);
  });

  it('never uses the test split', () => {
    const all = [...review.predictions, ...review.topLosses, ...review.uncertain, ...review.likelyMislabelled];
    expect(all.some((i) => i.file === 'x.jpg')).toBe(false);
  });

  it('respects the list limit and the mislabel confidence', () => {
    const small = reviewPredictions('/r', classes, predictions, { limit: 2, mislabelConfidence: 0.5 });
    expect(small.topLosses.map((i) => i.file)).toEqual(['c.jpg', 'b.jpg']);
    expect(small.uncertain).toHaveLength(2);
    // t3 (60% cat) now counts too; t1 still leads.
    expect(small.likelyMislabelled.map((i) => i.file)).toEqual(['t1.jpg', 't5.jpg']);
    const wide = reviewPredictions('/r', classes, predictions, { mislabelConfidence: 0.5 });
    expect(wide.likelyMislabelled.map((i) => i.file)).toEqual(['t1.jpg', 't5.jpg', 't3.jpg']);
  });

  it('gives a class nobody predicted precision 0 instead of NaN', () => {
    const r = reviewPredictions('/r', ['a', 'b'], [p('1', 'valid', 'a', [0.9, 0.1]), p('2', 'valid', 'b', [0.8, 0.2])]);
    expect(r.perClass[1]).toEqual({ name: 'b', precision: 0, recall: 0, f1: 0, support: 1 });
    expect(r.accuracy).toBe(0.5);
  });
});

describe('toReviewItem', () => {
  it('keeps the loss finite when the true class got probability 0', () => {
    const item = toReviewItem(p('z', 'valid', 'b', [1, 0]), ['a', 'b']);
    expect(Number.isFinite(item.loss)).toBe(true);
    expect(item.loss).toBeGreaterThan(15);
    expect(item.margin).toBe(1);
  });
});
