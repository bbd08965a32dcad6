// The two charts of the page (Chart.js, only the parts used are registered).
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.color = '#6b7089';
Chart.defaults.animation = false; // redrawn every epoch; animation would only lag behind

const INDIGO = '#4f46e5';
const TEAL = '#0ea5a3';

export interface EpochPoint {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

/** Loss (left axis) and accuracy (right axis, %) per epoch, train solid and validation dashed. */
export class TrainingChart {
  private chart: Chart<'line', (number | null)[], number>;

  constructor(canvas: HTMLCanvasElement) {
    const line = (label: string, color: string, axis: string, dashed = false) => ({
      label, borderColor: color, backgroundColor: color, yAxisID: axis, data: [] as (number | null)[],
      borderWidth: 2, pointRadius: 0, tension: 0.25, borderDash: dashed ? [6, 4] : [], spanGaps: true,
    });
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: [],
        datasets: [
          line('loss', INDIGO, 'loss'),
          line('validation loss', INDIGO, 'loss', true),
          line('accuracy', TEAL, 'acc'),
          line('validation accuracy', TEAL, 'acc', true),
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 18, boxHeight: 2 } } },
        scales: {
          x: { title: { display: true, text: 'epoch' }, grid: { display: false } },
          loss: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'loss' } },
          acc: {
            type: 'linear', position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false },
            title: { display: true, text: 'accuracy %' },
          },
        },
      },
    });
  }

  reset(): void {
    this.chart.data.labels = [];
    this.chart.data.datasets.forEach((d) => (d.data = []));
    this.chart.update();
  }

  add(p: EpochPoint): void {
    const d = this.chart.data.datasets;
    this.chart.data.labels!.push(p.epoch);
    d[0].data.push(p.loss);
    d[1].data.push(p.valLoss ?? null);
    d[2].data.push(p.accuracy * 100);
    d[3].data.push(p.valAccuracy === undefined ? null : p.valAccuracy * 100);
    this.chart.update();
  }
}

export interface BenchRow {
  label: string;
  ours: number;
  tfjs: number;
}

/** Horizontal bars: per-layer time, ours vs tfjs-webgpu. */
export class BenchChart {
  private chart: Chart<'bar', number[], string>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: {
        labels: [],
        datasets: [
          { label: 'facegpu WGSL', data: [], backgroundColor: INDIGO, borderRadius: 3 },
          { label: 'tfjs-webgpu', data: [], backgroundColor: '#f59e0b', borderRadius: 3 },
        ],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { position: 'top' },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${(c.raw as number).toFixed(2)} ms` } },
        },
        scales: { x: { title: { display: true, text: 'ms per run (median)' }, beginAtZero: true }, y: { ticks: { font: { size: 11 }, autoSkip: false } } },
      },
    });
  }

  show(rows: readonly BenchRow[]): void {
    this.chart.data.labels = rows.map((r) => r.label);
    this.chart.data.datasets[0].data = rows.map((r) => r.ours);
    this.chart.data.datasets[1].data = rows.map((r) => r.tfjs);
    this.chart.update();
  }
}
