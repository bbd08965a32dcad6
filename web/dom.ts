// Small DOM helpers for the demo page (no framework: the page is a handful of panels).

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`page is missing ${selector}`);
  return el;
}

type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

/** h('button', {class: 'primary', onclick: fn}, 'Train') */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name in el && typeof value !== 'string') (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Accept files dropped on `el` (highlighted while dragging over it). */
export function onFileDrop(el: HTMLElement, accept: (files: File[]) => void): void {
  let depth = 0;
  el.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    el.classList.add('dragover');
  });
  el.addEventListener('dragover', (e) => e.preventDefault());
  el.addEventListener('dragleave', () => {
    if (--depth <= 0) {
      depth = 0;
      el.classList.remove('dragover');
    }
  });
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    el.classList.remove('dragover');
    const files = [...(e.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/') || f.type === '');
    if (files.length) accept(files);
  });
}

/** "vendor · architecture · description" of an adapter, as the benchmark and tune panels show it. */
export function adapterLabel(a: { vendor: string; architecture: string; description: string; id: string }): string {
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || a.id;
}

/**
 * Run `start` once: the first time the tab `tabTestId` is opened and `ready()` holds (the
 * page's engine is up). A visitor who never opens the tab pays nothing for it.
 */
export function onFirstOpen(tabTestId: string, ready: () => boolean, start: () => void): void {
  let opened = false;
  $(`[data-testid=${tabTestId}]`).addEventListener('click', () => (opened = true));
  const poll = setInterval(() => {
    if (!opened || !ready()) return;
    clearInterval(poll);
    start();
  }, 200);
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

const PALETTE = ['#4f46e5', '#0ea5a3', '#e11d48', '#d97706', '#7c3aed', '#0284c7', '#16a34a', '#c026d3', '#475569', '#ea580c'];
export const colorFor = (i: number) => PALETTE[i % PALETTE.length];

const ICONS = {
  plus: '<path d="M12 5v14M5 12h14"/>',
  camera: '<path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="3.5"/>',
} as const;

/** A small stroke icon (inline SVG: no icon font, no emoji font needed). */
export function icon(name: keyof typeof ICONS): SVGSVGElement {
  const wrap = document.createElement('span');
  wrap.innerHTML = `<svg class="icon" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[name]}</svg>`;
  return wrap.firstElementChild as SVGSVGElement;
}
