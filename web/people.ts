// The people the visitor is teaching the page, their photos, and each photo's descriptor.
// Photos are embedded as soon as they are added (a few at a time, one engine.embed call per
// batch), so training only has to fit the head on descriptors that are already there.
import { imagesToRGB, type MobileNetEngine } from '../src/browser/index.ts';

export interface Photo {
  id: number;
  file: File;
  /** Object URL for the thumbnail. */
  url: string;
  descriptor: Float32Array | null;
  error: string | null;
}

export interface Person {
  id: number;
  name: string;
  photos: Photo[];
}

/** Most photos embedded per engine call: a bigger batch is faster per image, a smaller one shows progress sooner. */
const EMBED_BATCH = 8;

export class People extends EventTarget {
  readonly list: Person[] = [];
  private nextId = 1;
  private queue: Photo[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly engine: () => MobileNetEngine | null) {
    super();
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  add(name: string): Person {
    const clean = name.trim().replace(/\s+/g, ' ');
    if (!clean) throw new Error('a person needs a name');
    if (this.list.some((p) => p.name.toLowerCase() === clean.toLowerCase())) throw new Error(`there is already someone called ${clean}`);
    const person: Person = { id: this.nextId++, name: clean, photos: [] };
    this.list.push(person);
    this.changed();
    return person;
  }

  remove(person: Person): void {
    const at = this.list.indexOf(person);
    if (at < 0) return;
    this.list.splice(at, 1);
    person.photos.forEach((ph) => URL.revokeObjectURL(ph.url));
    this.queue = this.queue.filter((ph) => !person.photos.includes(ph));
    this.changed();
  }

  addPhotos(person: Person, files: readonly File[]): void {
    for (const file of files) {
      const photo: Photo = { id: this.nextId++, file, url: URL.createObjectURL(file), descriptor: null, error: null };
      person.photos.push(photo);
      this.queue.push(photo);
    }
    this.changed();
    this.pump();
  }

  removePhoto(person: Person, photo: Photo): void {
    person.photos = person.photos.filter((p) => p !== photo);
    this.queue = this.queue.filter((p) => p !== photo);
    URL.revokeObjectURL(photo.url);
    this.changed();
  }

  /** Photos still waiting for a descriptor. */
  get pending(): number {
    return this.list.reduce((n, p) => n + p.photos.filter((ph) => !ph.descriptor && !ph.error).length, 0);
  }

  /** People with at least one embedded photo. */
  get trainable(): Person[] {
    return this.list.filter((p) => p.photos.some((ph) => ph.descriptor));
  }

  /** Resolves once every photo added so far has a descriptor (or an error). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Start embedding queued photos once the engine is there (called again when it is). */
  pump(): void {
    if (this.running || !this.queue.length || !this.engine()) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      this.changed();
    });
  }

  private async drain(): Promise<void> {
    const engine = this.engine()!;
    while (this.queue.length) {
      const batch = this.queue.splice(0, EMBED_BATCH);
      // Decode one by one so that a broken file fails alone, then embed the good ones together.
      const good: Photo[] = [];
      const pixels: Uint8Array[] = [];
      for (const photo of batch) {
        try {
          pixels.push(await imagesToRGB([photo.file], engine.inputSize));
          good.push(photo);
        } catch (err) {
          photo.error = (err as Error).message;
        }
      }
      if (good.length) {
        const all = new Uint8Array(pixels.reduce((n, p) => n + p.length, 0));
        pixels.forEach((p, i) => all.set(p, i * p.length));
        try {
          const out = await engine.embed(all, good.length);
          good.forEach((photo, i) => (photo.descriptor = out.slice(i * engine.outputDim, (i + 1) * engine.outputDim)));
        } catch (err) {
          good.forEach((photo) => (photo.error = `embedding failed: ${(err as Error).message}`));
        }
      }
      this.changed();
    }
  }
}
