// What a default calibration's stated FAR delivers to people it has never seen: made from
// half the ORL people (and the celebrities' train/, as the shipped one), tried on the other
// half as a user's gallery meets strangers. Used by calibrate-backbone.ts, which prints the
// table (calibration/README.md quotes it): the shipped file is made from all 40 ORL people,
// so no ORL person is left to test it on, and these folds stand in for it.
//
// Per fold and FAR: galleries of 1, 2, 3 and 5 test people (photos 1-5 enrolled; every test
// person alone, then 50 random draws of each larger size), strangers the test people not
// enrolled (all their photos), the share of strangers named as anyone, and of the enrolled
// people's photos 6-10 named right; verify without a gallery on every pair of test photos.
import { Gallery } from '../src/gallery/gallery.ts';
import { defaultCalibrationFrom } from '../src/gallery/calibration-record.ts';
import { flatIndexProvider } from '../src/gallery/flat-index.ts';
import { dot } from '../src/gallery/pair-scores.ts';
import { deriveSeed, Prng } from '../src/train/prng.ts';

export interface HeldOutFace {
  /** Row in the normalised descriptors. */
  row: number;
  person: string;
  /** The ORL person's number (1-40), or 0 for the other data set's people. */
  orl: number;
  /** The photo's number within its person (ORL: 1-10). */
  photo: number;
}

const FARS = [0.1, 0.01, 0.001];
const SIZES = [1, 2, 3, 5];
const DRAWS = 50;

/** `x`: the faces' descriptors, normalised already (so the folds' galleries only L2-normalise them again, which keeps them). */
export function heldOutTable(x: Float32Array, faces: HeldOutFace[], dim: number, backbone: { id: string; sha256: string }, options: { cap: number }): string {
  const normalisation = { method: 'l2' } as const;
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  const folds: [string, number[]][] = [
    ['s1-s20', range(1, 20)],
    ['s21-s40', range(21, 40)],
    ['odd', range(1, 40).filter((i) => i % 2)],
    ['even', range(1, 40).filter((i) => i % 2 === 0)],
  ];
  const rowsOf = (list: HeldOutFace[]) => {
    const out = new Float32Array(list.length * dim);
    list.forEach((f, k) => out.set(x.subarray(f.row * dim, (f.row + 1) * dim), k * dim));
    return out;
  };
  const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1)}%`;
  const lines = [
    `| made from ORL | tried on | strangers named / own photos named right at FAR ${FARS.join(', ')}: 1 person | 2 people | 3 people | 5 people | verify: different / same people accepted |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const [name, calPeople] of folds) {
    const cal = faces.filter((f) => (f.orl ? calPeople.includes(f.orl) : true));
    const test = faces.filter((f) => f.orl && !calPeople.includes(f.orl));
    const names = [...new Set(cal.map((f) => f.person))];
    // Impostor pairs within a data set, as the shipped file's (ORL's people apart from the others').
    const dataSet = names.map((n) => (cal.find((f) => f.person === n)!.orl ? 0 : 1));
    const reference = defaultCalibrationFrom({ backbone, normalisation, source: `held-out fold: ORL ${name}`, descriptors: rowsOf(cal), person: cal.map((f) => names.indexOf(f.person)), people: names.length, dim, options: { ...options, dataSet } });
    const make = () => Gallery.create({ name: 'held-out', backbone, dim, preprocessing: {}, normalisation, index: flatIndexProvider, defaultCalibration: reference });
    const testPeople = [...new Set(test.map((f) => f.orl))];
    // The same draws at every run of a fold, whatever the other folds drew.
    const prng = new Prng(deriveSeed(7, 'held-out', name));
    const cells: string[] = [];
    for (const size of SIZES) {
      const named = FARS.map(() => [0, 0]);
      const right = FARS.map(() => [0, 0]);
      const draws = size === 1 ? testPeople.map((p) => [p]) : Array.from({ length: DRAWS }, () => prng.shuffled(testPeople).slice(0, size));
      for (const people of draws) {
        const g = make();
        for (const p of people) {
          const own = test.filter((f) => f.orl === p && f.photo <= 5);
          g.addFaces(own[0].person, own.map((f) => ({ file: `${f.person}/${f.photo}`, descriptor: x.slice(f.row * dim, (f.row + 1) * dim), box: [0, 0, 1, 1] as [number, number, number, number], score: 1 })));
        }
        const strangers = test.filter((f) => !people.includes(f.orl));
        const known = test.filter((f) => people.includes(f.orl) && f.photo > 5);
        FARS.forEach((far, i) => {
          const s = g.identify(rowsOf(strangers), { far });
          named[i][0] += s.filter((r) => r.label !== null).length;
          named[i][1] += s.length;
          const k = g.identify(rowsOf(known), { far });
          right[i][0] += k.filter((r, j) => r.label === known[j].person).length;
          right[i][1] += k.length;
        });
      }
      cells.push(FARS.map((_, i) => `${pct(named[i][0], named[i][1])} / ${pct(right[i][0], right[i][1])}`).join(', '));
    }
    const g = make();
    const verify = FARS.map((far) => {
      const t = g.thresholdFor('verify', far).threshold;
      let different = 0, nd = 0, same = 0, ns = 0;
      for (let i = 0; i < test.length; i++) {
        for (let j = i + 1; j < test.length; j++) {
          const s = dot(x, test[i].row * dim, x, test[j].row * dim, dim);
          if (test[i].orl === test[j].orl) { ns++; if (s >= t) same++; } else { nd++; if (s >= t) different++; }
        }
      }
      return `${pct(different, nd)} / ${pct(same, ns)}`;
    });
    lines.push(`| ${name} and the celebrities' train/ (${names.length} people) | the other 20 | ${cells.join(' | ')} | ${verify.join(', ')} |`);
  }
  return lines.join('\n');
}
