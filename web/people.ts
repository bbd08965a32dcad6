// The people the visitor is teaching the page and their photos. A photo is checked to decode
// when it is added (so a broken file is flagged at once); descriptors are computed when
// training starts, by the same pipeline the Node CLI trains with.
export interface Photo {
  id: number;
  file: File;
  /** Object URL for the thumbnail. */
  url: string;
  state: 'checking' | 'ok' | 'error';
  error: string | null;
}

export interface Person {
  id: number;
  name: string;
  photos: Photo[];
}

export class People extends EventTarget {
  readonly list: Person[] = [];
  private nextId = 1;
  private checks = new Set<Promise<void>>();

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
    this.changed();
  }

  addPhotos(person: Person, files: readonly File[]): void {
    for (const file of files) {
      const photo: Photo = { id: this.nextId++, file, url: URL.createObjectURL(file), state: 'checking', error: null };
      person.photos.push(photo);
      const check = createImageBitmap(file)
        .then((bitmap) => {
          bitmap.close();
          photo.state = 'ok';
        })
        .catch(() => {
          photo.state = 'error';
          photo.error = `${file.name}: not an image this browser can read${file.type ? ` (${file.type})` : ''}`;
        })
        .finally(() => {
          this.checks.delete(check);
          this.changed();
        });
      this.checks.add(check);
    }
    this.changed();
  }

  removePhoto(person: Person, photo: Photo): void {
    person.photos = person.photos.filter((p) => p !== photo);
    URL.revokeObjectURL(photo.url);
    this.changed();
  }

  /** Photos still being checked. */
  get pending(): number {
    return this.checks.size;
  }

  /** Resolves once every photo added so far has been checked. */
  async settled(): Promise<void> {
    while (this.checks.size) await Promise.allSettled([...this.checks]);
  }

  /** People with at least one readable photo, and those photos. */
  get trainable(): { person: Person; photos: Photo[] }[] {
    return this.list.map((person) => ({ person, photos: person.photos.filter((ph) => ph.state === 'ok') })).filter((p) => p.photos.length);
  }
}
