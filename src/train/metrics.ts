// Evaluation numbers from true and predicted class indices: accuracy, the confusion matrix
// (rows = true class, columns = predicted) and per-class precision and recall. A photo where
// no face was found (a face-crop model) has no predicted class: it is a miss, counted in
// accuracy and in its person's recall and support, and in `noFace` beside the matrix.

export interface ClassScores {
  precision: number | null; // null when the class was never predicted
  recall: number | null; // null when the class has no examples
  support: number; // the class's photos, those where no face was found included
}

export interface Evaluation {
  accuracy: number;
  classes: string[];
  /** Photos where a face was found (or whole-photo models' every photo): rows true class, columns predicted. */
  confusion: number[][];
  /** Per true class: photos where no face was found, each a miss (a column to the right of `confusion`). */
  noFace: number[];
  perClass: Record<string, ClassScores>;
}

/** `predicted[i]` null: no face was found in photo i (a miss). */
export function evaluatePredictions(classes: readonly string[], truth: readonly number[], predicted: readonly (number | null)[]): Evaluation {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const noFace = new Array<number>(k).fill(0);
  truth.forEach((t, i) => {
    const p = predicted[i];
    if (p === null) noFace[t]++;
    else confusion[t][p]++;
  });
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion[c][c];
  const perClass: Record<string, ClassScores> = {};
  classes.forEach((name, c) => {
    const support = confusion[c].reduce((a, b) => a + b, noFace[c]);
    const predictedAs = confusion.reduce((s, row) => s + row[c], 0);
    perClass[name] = {
      precision: predictedAs ? confusion[c][c] / predictedAs : null,
      recall: support ? confusion[c][c] / support : null,
      support,
    };
  });
  return { accuracy: truth.length ? correct / truth.length : 0, classes: [...classes], confusion, noFace, perClass };
}

/** The human-readable report of `facegpu eval`. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (v: number | null) => (v === null ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`);
  const missed = e.noFace.reduce((a, b) => a + b, 0);
  const total = e.confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), missed);
  const lines = [`accuracy ${(e.accuracy * 100).toFixed(2)}% (${Math.round(e.accuracy * total)}/${total})`];
  if (missed) lines.push(`no face found in ${missed} of ${total} photo${total === 1 ? '' : 's'}: each counted as a miss (predict calls such a photo "unknown", faces [])`);
  lines.push('');
  const width = Math.max(5, ...e.classes.map((c) => c.length));
  lines.push(`${'class'.padEnd(width)}  precision  recall  support`);
  for (const c of e.classes) {
    const s = e.perClass[c];
    lines.push(`${c.padEnd(width)}  ${pct(s.precision).padStart(9)}  ${pct(s.recall).padStart(6)}  ${String(s.support).padStart(7)}`);
  }
  lines.push('', `confusion matrix (rows: true class, columns: predicted, in the order above${missed ? ', then no face found' : ''})`);
  const rows = e.confusion.map((row, i) => (missed ? [...row, e.noFace[i]] : row));
  const cell = Math.max(3, ...rows.flat().map((v) => String(v).length));
  rows.forEach((row, i) => lines.push(`${e.classes[i].padEnd(width)}  ${row.map((v) => String(v).padStart(cell)).join(' ')}`));
  return lines.join('\n');
}
