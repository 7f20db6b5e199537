// The numbers behind the review screen, from saved per-image probabilities: no model needed.
// Everything here is pure so it can be checked by hand on tiny made-up predictions.
import type { Interpretation, ReviewItem } from '../../shared/types';
import { argmax } from '../../shared/argmax';
import type { SavedPrediction } from '../run';

export type { SavedPrediction };

export interface ReviewOptions {
  /** How many images each list (top losses, uncertain, likely mislabelled) holds at most. */
  limit?: number;
  /** A training image counts as likely mislabelled when the model gives another class at least this probability. */
  mislabelConfidence?: number;
}

export const REVIEW_DEFAULTS: Required<ReviewOptions> = { limit: 25, mislabelConfidence: 0.7 };

// Probabilities of exactly 0 would make the loss infinite, which JSON cannot carry.
const MIN_PROBABILITY = 1e-7;

/** The review row for one prediction: what it was, what the model said, how wrong and how sure. */
export function toReviewItem(p: SavedPrediction, classes: string[]): ReviewItem {
  const actualIndex = classes.indexOf(p.label);
  const top = argmax(p.probabilities);
  let second = -Infinity;
  for (let i = 0; i < p.probabilities.length; i++) if (i !== top && p.probabilities[i]! > second) second = p.probabilities[i]!;
  const probability = p.probabilities[top]!;
  return {
    file: p.file,
    id: p.id,
    split: p.split,
    actual: p.label,
    predicted: classes[top]!,
    probability,
    loss: -Math.log(Math.max(p.probabilities[actualIndex] ?? 0, MIN_PROBABILITY)),
    // With one class there is no runner-up: the model cannot be unsure.
    margin: Number.isFinite(second) ? probability - second : probability,
  };
}

/** confusion[actual][predicted] counts. */
export function confusionMatrix(items: ReviewItem[], classes: string[]): number[][] {
  const index = new Map(classes.map((c, i) => [c, i]));
  const matrix = classes.map(() => classes.map(() => 0));
  for (const item of items) matrix[index.get(item.actual)!]![index.get(item.predicted)!]! += 1;
  return matrix;
}

/** Precision, recall and F1 per class from a confusion matrix; 0 where a ratio has nothing to divide by. */
export function perClassMetrics(confusion: number[][], classes: string[]): Interpretation['perClass'] {
  return classes.map((name, k) => {
    const truePositives = confusion[k]![k]!;
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((sum, row) => sum + row[k]!, 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = support > 0 ? truePositives / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { name, precision, recall, f1, support };
  });
}

/** Off-diagonal cells with at least one image, most frequent first (ties by class order). */
export function mostConfusedPairs(confusion: number[][], classes: string[]): Interpretation['mostConfused'] {
  const pairs: Interpretation['mostConfused'] = [];
  confusion.forEach((row, a) =>
    row.forEach((count, p) => {
      if (a !== p && count > 0) pairs.push({ actual: classes[a]!, predicted: classes[p]!, count });
    }),
  );
  return pairs.sort((x, y) => y.count - x.count);
}

const byLossDescending = (a: ReviewItem, b: ReviewItem) => b.loss - a.loss || a.file.localeCompare(b.file);

/** Mistakes the model was surest about: highest loss first. */
export function topLosses(items: ReviewItem[], limit: number): ReviewItem[] {
  return items.filter((i) => i.predicted !== i.actual).sort(byLossDescending).slice(0, limit);
}

/** Images the model could hardly decide on: smallest top-1 minus top-2 margin first. */
export function mostUncertain(items: ReviewItem[], limit: number): ReviewItem[] {
  return [...items].sort((a, b) => a.margin - b.margin || a.file.localeCompare(b.file)).slice(0, limit);
}

/**
 * Training images whose folder probably names the wrong class: even after learning from them, the model
 * confidently says something else. High loss on data the model was fitted to is the classic tell.
 */
export function likelyMislabelled(trainItems: ReviewItem[], limit: number, confidence: number): ReviewItem[] {
  return trainItems.filter((i) => i.predicted !== i.actual && i.probability >= confidence).sort(byLossDescending).slice(0, limit);
}

/** Builds the whole review from saved predictions. The confusion matrix and lists use the validation split. */
export function reviewPredictions(
  runDir: string,
  classes: string[],
  predictions: SavedPrediction[],
  options: ReviewOptions = {},
): Interpretation {
  const { limit, mislabelConfidence } = { ...REVIEW_DEFAULTS, ...options };
  const valid = predictions.filter((p) => p.split === 'valid').map((p) => toReviewItem(p, classes));
  const train = predictions.filter((p) => p.split === 'train').map((p) => toReviewItem(p, classes));
  const confusion = confusionMatrix(valid, classes);
  const correct = confusion.reduce((sum, row, k) => sum + row[k]!, 0);
  return {
    runDir,
    classes,
    confusion,
    perClass: perClassMetrics(confusion, classes),
    mostConfused: mostConfusedPairs(confusion, classes),
    topLosses: topLosses(valid, limit),
    uncertain: mostUncertain(valid, limit),
    likelyMislabelled: likelyMislabelled(train, limit, mislabelConfidence),
    predictions: valid,
    accuracy: valid.length > 0 ? correct / valid.length : 0,
  };
}
