// `facegpu search` (searchLibraryByPhoto under it) releases what it opened on every path: the
// face describer, the search index and the store, then the engine and the GPU device, when
// describing the face fails, when no face is found, when the describer cannot be made, and
// when all goes well. Everything the
// command opens is replaced by a stand-in that records being released (no GPU, no files).
import { beforeEach, describe, expect, it, vi } from 'vitest';

const h = vi.hoisted(() => {
  const released: string[] = [];
  const state = {
    describe: async (): Promise<unknown[][]> => [[]],
    openDescriber: async () => ({ describe: () => state.describe(), destroy: () => released.push('describer') }),
  };
  return { released, state };
});

vi.mock('../src/gallery/store-node.ts', () => ({ readGalleryJson: async () => ({ backbone: { id: 'face', sha256: 'a'.repeat(64) } }) }));
vi.mock('../src/identity/node.ts', () => ({
  loadStoredGallery: async () => ({ backbone: { id: 'face', sha256: 'a'.repeat(64) }, normalisation: { method: 'l2' } }),
}));
vi.mock('../src/library/store-node.ts', () => ({
  LibraryStore: { exists: () => true, open: () => ({ close: () => h.released.push('store') }) },
}));
vi.mock('../src/library/search-index-node.ts', () => ({
  openSearchIndex: () => ({ close: () => h.released.push('index') }),
}));
vi.mock('../src/library/search-node.ts', () => ({
  searchLibrary: () => ({ threshold: 0.5, person: null, photos: [] }),
}));
vi.mock('../src/image/decode.ts', () => ({ loadImageRaw: async () => ({}) }));
vi.mock('../src/open-engine-node.ts', () => ({
  openEngine: async () => ({ gpu: { destroy: () => h.released.push('gpu') }, engine: { destroy: () => h.released.push('engine') } }),
}));
vi.mock('../src/gallery/gallery.ts', () => ({ assertBackbone: () => {} }));
vi.mock('../src/identity/face-gallery.ts', () => ({ lookupName: (n: string) => n, backboneRefOf: () => ({}), preprocessingOf: () => ({}), noFaceError: (name: string) => new Error(`${name}: no face found`) }));
vi.mock('../src/faces/node.ts', () => ({ openFaceDescriber: () => h.state.openDescriber() }));

const { searchCommand } = await import('../src/cli/search.ts');
const search = () => searchCommand('/g', '/probe.jpg', { top: '5', json: true });

beforeEach(() => {
  h.released.length = 0;
  h.state.describe = async () => [[]];
  h.state.openDescriber = async () => ({ describe: () => h.state.describe(), destroy: () => h.released.push('describer') });
});

describe('search releases the describer, engine, device, index and store', () => {
  it('when describing the face fails', async () => {
    h.state.describe = async () => {
      throw new Error('device lost');
    };
    await expect(search()).rejects.toThrow(/device lost/);
    expect(h.released).toEqual(['describer', 'index', 'store', 'engine', 'gpu']);
  });

  it('when no face is found', async () => {
    await expect(search()).rejects.toThrow(/probe\.jpg: no face found/);
    expect(h.released).toEqual(['describer', 'index', 'store', 'engine', 'gpu']);
  });

  it('when the describer cannot be made', async () => {
    h.state.openDescriber = async () => {
      throw new Error('no detector');
    };
    await expect(search()).rejects.toThrow(/no detector/);
    expect(h.released).toEqual(['index', 'store', 'engine', 'gpu']);
  });

  it('when all goes well', async () => {
    h.state.describe = async () => [[{ box: [0, 0, 10, 10], score: 1, descriptor: new Float32Array(4) }]];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await search();
      expect(write).toHaveBeenCalledWith('[]\n');
    } finally {
      write.mockRestore();
    }
    expect(h.released).toEqual(['describer', 'index', 'store', 'engine', 'gpu']);
  });
});
