// The runner checks every op against its shader by name (src/gpu/runner.ts): uniforms against
// the fields of `struct Params`, buffers against the storage bindings; and a shader or
// pipeline that WebGPU rejects becomes an error naming the kernel, its shader and constants,
// in the runner, the engine and the tfjs bridge, instead of a console message from
// onuncapturederror.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { KernelError, KernelRunner, kernelKey, parseShaderInterface, type OpDesc } from '../src/gpu/runner.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';
import { depthwiseOp } from '../src/kernels/depthwise.ts';
import { preprocessOp } from '../src/kernels/preprocess.ts';
import { DEFAULT_TUNING } from '../src/kernels/common.ts';
import { MobileNetEngine } from '../src/mobilenet/engine.ts';
import { loadBackbone } from '../src/weights/store.ts';
import { resolveBackboneDir } from '../src/backbones.ts';
import { TfjsGpu } from '../src/tfjs/bridge.ts';
import { acceleratedGpu } from '../src/tfjs/kernels.ts';
import { useGpuForTfjs } from '../src/train/tf-backend.ts';
import { testGpu, type TestGpu } from './helpers/gpu.ts';

let g: TestGpu;
const uncaptured: string[] = [];
beforeAll(async () => {
  g = await testGpu();
  const log = console.error.bind(console);
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (String(args[0]).includes('uncaptured')) uncaptured.push(String(args[0]));
    else log(...args);
  });
});
afterAll(() => {
  vi.restoreAllMocks();
  g?.close();
});

/** A shader library with `name` broken: a call of a function that does not exist. */
function broken(name: string): Record<string, string> {
  const shaders = loadShaders();
  const code = `${shaders[name]}\nfn broken_on_purpose() -> u32 { return no_such_function(1u); }\n`;
  return { ...shaders, [name]: code };
}

describe('uniforms and storage by name', () => {
  const depthwise = (): OpDesc => {
    const b = g.empty(64);
    return depthwiseOp({ label: 'conv_dw_1', x: b, w: b, b, y: g.empty(64), shape: { n: 1, h: 3, w: 3, c: 4 }, stride: 1, activation: 'relu6' }, { ...DEFAULT_TUNING, subgroup: 8, dwWg: 8 });
  };
  const prepare = (op: OpDesc) => g.runner.prepare([op], (s, u, l) => g.pool.create(s, u, l));

  it("reads a shader's Params struct and bindings, includes expanded", () => {
    const rows = g.runner.shaderInterface('depthwise3x3_rows');
    expect(rows.params.map((f) => f.name)).toEqual(['strips', 'strips_w', 'strips_h', 'rows', 'in_h', 'in_w', 'c4', 'out_h', 'out_w', 'pad_top', 'pad_left', 'gw', 'gw_recip']);
    expect(rows.storage.map((b) => `${b.binding}:${b.name}${b.writable ? ' rw' : ''}`)).toEqual(['1:x', '2:w', '3:b', '4:y rw']);
    // Params and bindings from an included file (matmul_io.wgsl).
    const mm = g.runner.shaderInterface('matmul');
    expect(mm.params).toHaveLength(14);
    expect(mm.storage.map((b) => b.name)).toEqual(['x', 'y', 'bias', 'out', 'res']);
    expect(g.runner.shaderInterface('global_avg_pool').params.map((f) => f.type)).toEqual(['u32', 'u32', 'u32', 'f32']);
    expect(() => parseShaderInterface('odd', 'struct Params { size: vec2<u32>, }')).toThrow(/shader odd: field "size: vec2<u32>" of struct Params/);
  });

  it('the op as built prepares', () => {
    expect(prepare(depthwise()).ops).toHaveLength(1);
  });

  it.each<[string, (op: OpDesc) => OpDesc, RegExp]>([
    ['an extra uniform', (op) => ({ ...op, uniforms: { ...op.uniforms, pad_right: 0 } }), /uniform "pad_right" is not a field of struct Params/],
    ['a misspelt uniform', (op) => {
      const { strips_w, ...rest } = op.uniforms;
      return { ...op, uniforms: { ...rest, strip_w: strips_w } };
    }, /uniform "strip_w" is not a field of struct Params/],
    ['a missing uniform', (op) => {
      const { pad_left: _, ...rest } = op.uniforms;
      return { ...op, uniforms: rest };
    }, /uniform "pad_left" \(u32\) of struct Params is missing/],
    ['a negative u32', (op) => ({ ...op, uniforms: { ...op.uniforms, c4: -1 } }), /uniform "c4" is u32, given -1/],
    ['a fraction in a u32', (op) => ({ ...op, uniforms: { ...op.uniforms, rows: 1.5 } }), /uniform "rows" is u32, given 1.5/],
    ['a missing binding', (op) => {
      const { b: _, ...rest } = op.storage;
      return { ...op, storage: rest };
    }, /storage "b" \(@binding\(3\)\) is missing/],
    ['an extra binding', (op) => ({ ...op, storage: { ...op.storage, res: g.empty(16) } }), /storage "res" is not a binding of the shader \(x, w, b, y\)/],
    ['no buffer for a written binding', (op) => ({ ...op, storage: { ...op.storage, y: null } }), /storage "y" \(@binding\(4\)\) is written by the shader and needs a buffer/],
    ['an empty grid', (op) => ({ ...op, workgroups: [0, 1] }), /grid \[0,1\] has 0 workgroups in a dimension/],
    ['a grid past the device limit', (op) => ({ ...op, workgroups: [1, 1e9] }), /grid \[1,1000000000\] exceeds the device's \d+ workgroups per dimension/],
  ])('%s fails with the kernel and the field named', (_, spoil, message) => {
    const op = spoil(depthwise());
    expect(() => prepare(op)).toThrow(KernelError);
    expect(() => prepare(op)).toThrow(message);
    expect(() => prepare(op)).toThrow(/kernel "conv_dw_1" \(shaders\/depthwise3x3_rows\.wgsl, constants WG=8, TC=2, STRIDE=1, ACT=2\)/);
  });

  it('an f32 field takes fractions, a u32 field of another op is checked too', () => {
    const src = g.empty(64);
    const op = preprocessOp({ src, dst: g.empty(256), pixels: 4, scale: 1 / 127.5, offset: -1 }, DEFAULT_TUNING);
    expect(prepare(op).ops).toHaveLength(1);
    expect(() => prepare({ ...op, uniforms: { ...op.uniforms, pixels: 2 ** 32 } })).toThrow(/kernel "preprocess" \(shaders\/preprocess\.wgsl, constants WG=64\): uniform "pixels" is u32, given 4294967296/);
  });
});

describe('a shader that does not compile', () => {
  it('the runner throws with the label and constants, at the check and at every later use', async () => {
    const runner = new KernelRunner(g.gpu.device, broken('reduce_sum'));
    const kernel = { shader: 'reduce_sum', constants: { WG: 64 } };
    await expect(runner.compile([{ label: 'sum of the bias gradient', kernel }])).rejects.toThrow(
      /kernel "sum of the bias gradient" \(shaders\/reduce_sum\.wgsl, constants WG=64\): the pipeline could not be created: .*no_such_function/s,
    );
    expect(() => runner.pipeline(kernel)).toThrow(/reduce_sum\.wgsl, constants WG=64/);
    // Other kernels of the library still compile.
    await expect(runner.compile([{ label: 'relu', kernel: { shader: 'elementwise', constants: { WG: 64, OP: 1 } } }])).resolves.toBeUndefined();
    expect(uncaptured).toEqual([]);
  });

  it('the engine rejects ready() and every embed with the kernel named', async () => {
    const backbone = await loadBackbone(resolveBackboneDir('face'));
    const engine = new MobileNetEngine(g.gpu, backbone, broken('global_avg_pool'));
    try {
      await expect(engine.ready()).rejects.toThrow(/kernel "global_avg_pool" \(shaders\/global_avg_pool\.wgsl, constants WG=\d+\): the pipeline could not be created/);
      const s = engine.inputSize;
      await expect(engine.embed(new Uint8Array(s * s * 3), 1)).rejects.toThrow(/global_avg_pool\.wgsl/);
      expect(uncaptured).toEqual([]);
    } finally {
      engine.destroy();
    }
  });

  it('the tfjs bridge throws from the next run and from ready()', async () => {
    const backend: WebGPUBackend = await useGpuForTfjs(g.gpu);
    expect(acceleratedGpu(backend)).toBeNull();
    const bridge = new TfjsGpu(backend, broken('elementwise'));
    const a = g.upload(new Float32Array(8));
    const op: OpDesc = {
      label: 'elementwise Relu',
      kernel: { shader: 'elementwise', constants: { WG: 64, OP: 1 } },
      uniforms: { size4: 2, alpha: 0 },
      storage: { a, b: null, out: g.empty(32) },
      workgroups: [1],
    };
    bridge.run([op]); // a kernel's first run cannot wait for the check (tfjs kernels are synchronous)
    await expect(bridge.ready()).rejects.toThrow(/kernel "elementwise Relu" \(shaders\/elementwise\.wgsl, constants WG=64, OP=1\): the pipeline could not be created/);
    expect(() => bridge.run([op])).toThrow(/elementwise\.wgsl, constants WG=64, OP=1/);
    expect(uncaptured).toEqual([]);
  });
});

describe('typed kernels (KernelSpec.types)', () => {
  const kernel = { shader: 'pointwise_tiled', constants: { TX: 8, TY: 8, RP: 4, RC: 2, BK: 4, ACT: 0, WH: 1 }, types: { WT: 'f16' as const } };

  it('an f16 type is an alias after `enable f16;`, and another pipeline than f32', () => {
    const runner = new KernelRunner(g.gpu.device, loadShaders());
    const src = runner.source(kernel);
    expect(src.startsWith('enable f16;\n')).toBe(true);
    expect(src).toContain('alias WT = f16;');
    expect(src).toContain('var<workgroup> ws: array<mat4x4<WT>');
    expect(runner.source({ ...kernel, types: { WT: 'f32' } })).not.toContain('enable f16;');
    expect(kernelKey(kernel)).not.toBe(kernelKey({ ...kernel, types: { WT: 'f32' } }));
  });

  it('compiles on a device with shader-f16; without it, is refused with the kernel named before anything is compiled', async () => {
    if (g.gpu.device.features.has('shader-f16')) await expect(new KernelRunner(g.gpu.device, loadShaders()).compile([{ label: 'tiled pw', kernel }])).resolves.toBeUndefined();
    // A device without the feature (SwiftShader has none): only its features are read before the refusal.
    const without = { features: new Set<string>() } as unknown as GPUDevice;
    const runner = new KernelRunner(without, loadShaders());
    expect(() => runner.pipeline(kernel, 'tiled pw')).toThrow(/kernel "tiled pw" \(shaders\/pointwise_tiled\.wgsl, constants .*, types WT=f16\): type WT = f16 needs the device's shader-f16 feature/);
    expect(() => runner.pipeline(kernel)).toThrow(KernelError);
    expect(uncaptured).toEqual([]);
  });
});

describe('one pipeline cache per device', () => {
  it('the engine and the tfjs bridge share the runner of a device and shader library', async () => {
    const shaders = loadShaders();
    const backend = await useGpuForTfjs(g.gpu);
    const backbone = await loadBackbone(resolveBackboneDir('face'));
    const engine = new MobileNetEngine(g.gpu, backbone, shaders);
    try {
      await engine.ready();
      expect(new TfjsGpu(backend, shaders).runner).toBe(engine.runner);
      expect(KernelRunner.shared(g.gpu.device, shaders)).toBe(engine.runner);
      expect(KernelRunner.shared(g.gpu.device, { ...shaders })).not.toBe(engine.runner);
    } finally {
      engine.destroy();
    }
  });
});
