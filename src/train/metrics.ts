// Evaluation numbers from true and predicted class indices: accuracy, the confusion matrix
// (rows = true class, columns = predicted) and per-class precision and recall.

export interface ClassScores {
  precision: number | null; // null when the class was never predicted
  recall: number | null; // null when the class has no examples
  support: number;
}

export interface Evaluation {
  accuracy: number;
  classes: string[];
  confusion: number[][];
  perClass: Record<string, ClassScores>;
}

export function evaluatePredictions(classes: readonly string[], truth: readonly number[], predicted: readonly number[]): Evaluation {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  truth.forEach((t, i) => confusion[t][predicted[i]]++);
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion[c][c];
  const perClass: Record<string, ClassScores> = {};
  classes.forEach((name, c) => {
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((s, row) => s + row[c], 0);
    perClass[name] = {
      precision: predictedAs ? confusion[c][c] / predictedAs : null,
      recall: support ? confusion[c][c] / support : null,
      support,
    };
  });
  return { accuracy: truth.length ? correct / truth.length : 0, classes: [...classes], confusion, perClass };
}

/** The human-readable report of `facegpu eval`. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (v: number | null) => (v === null ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`);
  const total = e.confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const lines = [`accuracy ${(e.accuracy * 100).toFixed(2)}% (${Math.round(e.accuracy * total)}/${total})`, ''];
  const width = Math.max(5, ...e.classes.map((c) => c.length));
  lines.push(`${'class'.padEnd(width)}  precision  recall  support`);
  for (const c of e.classes) {
    const s = e.perClass[c];
    lines.push(`${c.padEnd(width)}  ${pct(s.precision).padStart(9)}  ${pct(s.recall).padStart(6)}  ${String(s.support).padStart(7)}`);
  }
  lines.push('', 'confusion matrix (rows: true class, columns: predicted, in the order above)');
  const cell = Math.max(3, ...e.confusion.flat().map((v) => String(v).length));
  e.confusion.forEach((row, i) => lines.push(`${e.classes[i].padEnd(width)}  ${row.map((v) => String(v).padStart(cell)).join(' ')}`));
  return lines.join('\n');
}
