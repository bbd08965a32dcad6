// scripts/calibration-held-out.ts: the held-out table calibrate-backbone.ts prints (and
// calibration/README.md quotes), on synthetic people whose strangers behave like the
// calibration's: the stated FAR must come out near what is asked, the own photos named.
import { describe, expect, it } from 'vitest';
import { heldOutTable, type HeldOutFace } from '../scripts/calibration-held-out.ts';
import { syntheticFaces, unitRows } from '../src/gallery/synthetic.ts';

describe('calibration-held-out', () => {
  it('four folds of 20 ORL people each; strangers named near the FAR asked, own photos named', () => {
    const dim = 64;
    // 40 "ORL" people and 5 others, 10 photos each, already normalised as the script's are.
    const s = syntheticFaces({ seed: 3, dim, people: 45, perPerson: 10, noise: 0.8 });
    const x = unitRows(s.descriptors, dim);
    const faces: HeldOutFace[] = Array.from(s.person, (p, row) => ({ row, person: p < 40 ? `orl-s${p + 1}` : `other-${p}`, orl: p < 40 ? p + 1 : 0, photo: (row % 10) + 1 }));
    const table = heldOutTable(x, faces, dim, { id: 'synthetic', sha256: '0' }, { cap: 4000 });
    const rows = table.split('\n').slice(2);
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| s1-s20 and the celebrities\' train/ (25 people)', '| s21-s40 and the celebrities\' train/ (25 people)', "| odd and the celebrities' train/ (25 people)", "| even and the celebrities' train/ (25 people)"]);
    for (const row of rows) {
      // Cells after the two labels: 1, 2, 3, 5 people, verify; each "named / right" at FAR 0.1, 0.01, 0.001.
      const cells = row.split(' | ').slice(2).map((c) => c.replace(/ \|$/, '').split(', ').map((pair) => pair.split(' / ').map((v) => parseFloat(v))));
      expect(cells).toHaveLength(5);
      for (const [k, cell] of cells.entries()) {
        const [strangers, own] = [cell.map((c) => c[0]), cell.map((c) => c[1])];
        expect(strangers[0], `${row}: cell ${k}`).toBeLessThanOrEqual(30); // asked 10%
        expect(strangers[1], `${row}: cell ${k}`).toBeLessThanOrEqual(5); // asked 1%
        expect(strangers[2], `${row}: cell ${k}`).toBeLessThanOrEqual(2); // asked 0.1%
        expect(strangers[0]).toBeGreaterThanOrEqual(strangers[1]);
        expect(strangers[1]).toBeGreaterThanOrEqual(strangers[2]);
        for (const o of own) expect(o, `${row}: cell ${k}`).toBeGreaterThanOrEqual(90);
      }
      // Some strangers do get through at 0.1: the thresholds are not simply out of reach.
      expect(cells[0][0][0], row).toBeGreaterThan(0);
    }
  });
});
