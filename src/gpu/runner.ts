// The generic kernel runner. Each GPU op is a plain description (which shader, which
// constants baked into it, its uniforms and storage buffers by the names the shader gives
// them, its grid); this file is the one place that compiles pipelines (cached by shader name
// + constants, one cache per device and shader library), checks an op against its shader's
// `Params` struct and bindings, packs uniforms into buffers and builds bind groups. Modelled
// on tfjs-backend-webgpu's program cache and onnxruntime-web's ProgramManager (uniforms by
// name: registerUniforms in its ops/common.ts).
import { STORAGE } from './buffers.ts';
import { unrollLoops } from './unroll.ts';

export type ShaderSources = Readonly<Record<string, string>>;

/**
 * Bump when the way a kernel's source is assembled from its files changes (`source()`: the
 * includes, the constant prelude, the loops written out), since the same files then compile
 * to other code: the tuner files its tunings under it (src/tune/key.ts). 2: `// #unroll`.
 */
export const SOURCE_ASSEMBLY_VERSION = 2;

/** A storage buffer, or a range of one. */
export type Binding = GPUBuffer | GPUBufferBinding;

export interface KernelSpec {
  /** Shader file name under shaders/, without ".wgsl". */
  shader: string;
  /**
   * Compile-time constants, prepended as `const NAME: u32 = V;`. Everything baked into the
   * code this way is part of the pipeline cache key; shapes travel as uniforms instead.
   */
  constants?: Readonly<Record<string, number>>;
  /**
   * Compile-time types, prepended as `alias NAME = T;`: what a kernel keeps its values in
   * (e.g. a weight tile in workgroup memory). Any f16 adds `enable f16;` and needs the
   * device's `shader-f16` feature; without it the pipeline is refused with the kernel's
   * name, never compiled in float32 instead. Part of the pipeline cache key.
   */
  types?: Readonly<Record<string, 'f32' | 'f16'>>;
}

export interface OpDesc {
  label: string;
  kernel: KernelSpec;
  /**
   * Every field of the shader's `Params` struct (@binding(0)) by name; the runner takes the
   * order and the types (u32, i32, f32) from the struct.
   */
  uniforms: Readonly<Record<string, number>>;
  /**
   * Every storage binding of the shader by its variable name. `null` for a read-only one
   * that this variant of the kernel does not read (a bias or residual switched off by a
   * constant): the runner binds a placeholder, as WebGPU wants a buffer at every binding.
   */
  storage: Readonly<Record<string, Binding | null>>;
  /** Workgroup grid. */
  workgroups: readonly [number, number?, number?];
}

export interface PreparedOp {
  readonly desc: OpDesc;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
}

type ScalarType = 'u32' | 'i32' | 'f32';

/** What an op must supply to a shader: its Params fields and storage bindings, in binding order. */
export interface ShaderInterface {
  params: readonly { name: string; type: ScalarType }[];
  storage: readonly { binding: number; name: string; writable: boolean }[];
}

/** A kernel that failed to compile, or an op that does not match its shader. */
export class KernelError extends Error {}

export function kernelKey(k: KernelSpec): string {
  const c = k.constants ?? {};
  const t = k.types ?? {};
  const types = Object.keys(t).sort().map((n) => `${n}=${t[n]}`).join(',');
  return `${k.shader}(${Object.keys(c).sort().map((n) => `${n}=${c[n]}`).join(',')})${types ? `<${types}>` : ''}`;
}

/**
 * The Params struct and bindings of a shader (with its includes expanded): fields are
 * 4-byte scalars, @binding(0) is `var<uniform> p: Params` (when there is a Params struct)
 * and the others are storage buffers in group 0.
 */
export function parseShaderInterface(shader: string, code: string): ShaderInterface {
  const text = code.replace(/\/\/.*$/gm, '');
  const params: { name: string; type: ScalarType }[] = [];
  const struct = /struct\s+Params\s*\{([^}]*)\}/.exec(text);
  if (struct) {
    for (const field of struct[1].split(',').map((f) => f.trim()).filter(Boolean)) {
      const m = /^(\w+)\s*:\s*(\w+)$/.exec(field);
      if (!m || !['u32', 'i32', 'f32'].includes(m[2])) throw new KernelError(`shader ${shader}: field "${field}" of struct Params is not a u32, i32 or f32 (the runner packs 4-byte scalars only)`);
      params.push({ name: m[1], type: m[2] as ScalarType });
    }
  }
  const storage: { binding: number; name: string; writable: boolean }[] = [];
  for (const m of text.matchAll(/@group\((\d+)\)\s*@binding\((\d+)\)\s*var(?:<([^>]*)>)?\s+(\w+)\s*:\s*(\w+)/g)) {
    const [, group, binding, space = '', name, type] = m;
    if (group !== '0') throw new KernelError(`shader ${shader}: ${name} is in group ${group}; the runner binds group 0 only`);
    if (binding === '0') {
      if (!space.startsWith('uniform') || type !== 'Params') throw new KernelError(`shader ${shader}: @binding(0) must be var<uniform> p: Params`);
      continue;
    }
    if (!space.startsWith('storage')) throw new KernelError(`shader ${shader}: @binding(${binding}) ${name} is not a storage buffer`);
    storage.push({ binding: Number(binding), name, writable: /read_write/.test(space) });
  }
  storage.sort((a, b) => a.binding - b.binding);
  return { params, storage };
}

/** A value that the 4-byte field of `type` holds exactly as given. */
function fits(type: ScalarType, v: number): boolean {
  if (type === 'f32') return typeof v === 'number' && !Number.isNaN(v);
  if (!Number.isInteger(v)) return false;
  return type === 'u32' ? v >= 0 && v <= 0xffffffff : v >= -0x80000000 && v <= 0x7fffffff;
}

const describeKernel = (label: string, k: KernelSpec) => {
  const c = Object.entries(k.constants ?? {}).map(([n, v]) => `${n}=${v}`).join(', ');
  const t = Object.entries(k.types ?? {}).map(([n, v]) => `${n}=${v}`).join(', ');
  return `kernel "${label}" (shaders/${k.shader}.wgsl${c ? `, constants ${c}` : ''}${t ? `, types ${t}` : ''})`;
};

/** One runner per device and shader library (see KernelRunner.shared). */
const sharedRunners = new WeakMap<GPUDevice, WeakMap<ShaderSources, KernelRunner>>();

export class KernelRunner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private interfaces = new Map<string, ShaderInterface>();
  /** Pipelines whose creation failed, by cache key: the error to throw at each later use. */
  private failures = new Map<string, KernelError>();
  /** Error scopes of pipeline creations not yet popped. */
  private checks = new Set<Promise<void>>();
  private placeholder: GPUBuffer | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly shaders: ShaderSources,
  ) {}

  /**
   * The runner of a device and shader library: the engine, the tfjs bridge and the face
   * warper on one device share its pipelines (and its cache) this way.
   */
  static shared(device: GPUDevice, shaders: ShaderSources): KernelRunner {
    let byShaders = sharedRunners.get(device);
    if (!byShaders) sharedRunners.set(device, (byShaders = new WeakMap()));
    let runner = byShaders.get(shaders);
    if (!runner) byShaders.set(shaders, (runner = new KernelRunner(device, shaders)));
    return runner;
  }

  /** Whether the kernel's pipeline is in the cache. */
  has(kernel: KernelSpec): boolean {
    return this.pipelines.has(kernelKey(kernel));
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** The shader's code with its includes expanded, without the constant prelude. */
  private body(shader: string): string {
    const raw = this.shaders[shader];
    if (raw === undefined) throw new Error(`no shader named "${shader}" (looked in shaders/${shader}.wgsl)`);
    // WGSL has no include: a line `// #include name` pulls in shaders/name.wgsl (helpers shared
    // by several kernels), whose own includes are pulled in too. Each file goes in once, at its
    // first include (WGSL declarations may come in any order), so two helpers can both include
    // a third. Includes come from the same library, so the cache key still holds.
    const included = new Set<string>([shader]);
    const expand = (text: string, from: string): string =>
      text.replace(/^\/\/ #include (\w+)$/gm, (_, name: string) => {
        const part = this.shaders[name];
        if (part === undefined) throw new Error(`shaders/${from}.wgsl includes "${name}", but there is no shaders/${name}.wgsl`);
        if (included.has(name)) return '';
        included.add(name);
        return expand(part, name);
      });
    return expand(raw, shader);
  }

  source(kernel: KernelSpec): string {
    // Loops marked `// #unroll` are written out here (unroll.ts says why).
    const body = unrollLoops(this.body(kernel.shader), kernel.constants ?? {}, kernel.shader);
    const consts = Object.entries(kernel.constants ?? {})
      .map(([name, v]) => {
        if (!Number.isInteger(v) || v < 0) throw new Error(`constant ${name}=${v} of ${kernel.shader} must be a non-negative integer`);
        return `const ${name}: u32 = ${v}u;`;
      })
      .join('\n');
    const types = Object.entries(kernel.types ?? {});
    for (const [name, t] of types) if (t !== 'f32' && t !== 'f16') throw new Error(`type ${name}=${t} of ${kernel.shader} must be f32 or f16`);
    const aliases = types.map(([name, t]) => `alias ${name} = ${t};`).join('\n');
    // WGSL wants directives (`enable subgroups;`) before any declaration: keep them first.
    const directives: string[] = [...(body.match(/^enable [^;]+;/gm) ?? [])];
    if (types.some(([, t]) => t === 'f16') && !directives.includes('enable f16;')) directives.push('enable f16;');
    return `${directives.join('\n')}\n${aliases}\n${consts}\n${body.replace(/^enable [^;]+;/gm, '')}`;
  }

  /** The Params fields and storage bindings of a shader (parsed once per shader). */
  shaderInterface(shader: string): ShaderInterface {
    let s = this.interfaces.get(shader);
    if (!s) this.interfaces.set(shader, (s = parseShaderInterface(shader, this.body(shader))));
    return s;
  }

  /**
   * The pipeline of a kernel, created on first use inside a validation error scope. The
   * scope is popped asynchronously: `ready()` waits for it and throws a KernelError naming
   * `label` (the first op that asked for the kernel), the shader and its constants, and
   * every later call for the same kernel throws that error at once.
   */
  pipeline(kernel: KernelSpec, label = kernel.shader): GPUComputePipeline {
    const key = kernelKey(kernel);
    const failed = this.failures.get(key);
    if (failed) throw failed;
    let p = this.pipelines.get(key);
    if (!p) {
      const half = Object.entries(kernel.types ?? {}).find(([, t]) => t === 'f16');
      if (half && !this.device.features.has('shader-f16')) {
        const err = new KernelError(`${describeKernel(label, kernel)}: type ${half[0]} = f16 needs the device's shader-f16 feature, which this device does not have`);
        this.failures.set(key, err);
        throw err;
      }
      const code = this.source(kernel);
      const device = this.device;
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ label: key, code });
      p = device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
      const check = device.popErrorScope().then(
        (err) => {
          this.checks.delete(check);
          if (!err) return;
          this.pipelines.delete(key);
          this.failures.set(key, new KernelError(`${describeKernel(label, kernel)}: the pipeline could not be created: ${err.message}`));
        },
        (err: unknown) => {
          this.checks.delete(check);
          this.failures.set(key, new KernelError(`${describeKernel(label, kernel)}: the pipeline's error scope failed: ${(err as Error).message}`));
        },
      );
      this.checks.add(check);
    }
    return p;
  }

  /**
   * Wait until every pipeline created so far has been checked; throws the KernelError of the
   * first that failed (of `kernels` only, when given).
   */
  async ready(kernels?: readonly KernelSpec[]): Promise<void> {
    while (this.checks.size) await Promise.all([...this.checks]);
    const keys = kernels ? kernels.map(kernelKey) : [...this.failures.keys()];
    for (const key of keys) {
      const failed = this.failures.get(key);
      if (failed) throw failed;
    }
  }

  /** Create the pipelines of `ops` and wait for their checks (throws as `ready`). */
  async compile(ops: readonly Pick<OpDesc, 'kernel' | 'label'>[]): Promise<void> {
    for (const op of ops) this.pipeline(op.kernel, op.label);
    await this.ready(ops.map((op) => op.kernel));
  }

  /**
   * Check an op against its shader: every Params field given once with a value its type
   * holds, every storage binding given once (null only for read-only ones), nothing else.
   */
  check(op: OpDesc): ShaderInterface {
    const s = this.shaderInterface(op.kernel.shader);
    const where = describeKernel(op.label, op.kernel);
    const fields = new Set(s.params.map((f) => f.name));
    for (const name of Object.keys(op.uniforms)) {
      if (!fields.has(name)) throw new KernelError(`${where}: uniform "${name}" is not a field of struct Params (${[...fields].join(', ') || 'none'})`);
    }
    for (const f of s.params) {
      const v = op.uniforms[f.name];
      if (v === undefined) throw new KernelError(`${where}: uniform "${f.name}" (${f.type}) of struct Params is missing`);
      if (!fits(f.type, v)) throw new KernelError(`${where}: uniform "${f.name}" is ${f.type}, given ${v}`);
    }
    const bindings = new Map(s.storage.map((b) => [b.name, b]));
    for (const name of Object.keys(op.storage)) {
      if (!bindings.has(name)) throw new KernelError(`${where}: storage "${name}" is not a binding of the shader (${[...bindings.keys()].join(', ')})`);
    }
    for (const b of s.storage) {
      const given = op.storage[b.name];
      if (given === undefined) throw new KernelError(`${where}: storage "${b.name}" (@binding(${b.binding})) is missing`);
      if (given === null && b.writable) throw new KernelError(`${where}: storage "${b.name}" (@binding(${b.binding})) is written by the shader and needs a buffer`);
    }
    return s;
  }

  /** A small read-only buffer bound where a kernel variant does not read a binding. */
  private placeholderBuffer(): GPUBuffer {
    // 256 bytes cover any runtime-sized array's minimum binding size used here.
    this.placeholder ??= this.device.createBuffer({ label: 'unused binding', size: 256, usage: STORAGE });
    return this.placeholder;
  }

  /**
   * Prepare a list of ops that will be encoded again and again (one forward pass): their
   * uniforms are packed into one buffer, at the device's offset alignment, written once.
   * The caller owns the returned uniform buffer (created through `createBuffer`).
   */
  prepare(
    ops: readonly OpDesc[],
    createBuffer: (size: number, usage: GPUBufferUsageFlags, label: string) => GPUBuffer,
  ): { ops: PreparedOp[]; uniformBuffer: GPUBuffer } {
    const shaders = ops.map((op) => this.check(op));
    const align = this.device.limits.minUniformBufferOffsetAlignment;
    const slot = (n: number) => Math.ceil(Math.max(n * 4, 16) / align) * align;
    const total = shaders.reduce((sum, s) => sum + slot(s.params.length), 0);
    const data = new ArrayBuffer(Math.max(total, 16));
    const view = new DataView(data);
    const uniformBuffer = createBuffer(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
    const prepared: PreparedOp[] = [];
    let offset = 0;
    ops.forEach((op, i) => {
      const s = shaders[i];
      s.params.forEach(({ name, type }, j) => {
        const at = offset + j * 4;
        const value = op.uniforms[name];
        if (type === 'f32') view.setFloat32(at, value, true);
        else if (type === 'i32') view.setInt32(at, value, true);
        else view.setUint32(at, value, true);
      });
      const pipeline = this.pipeline(op.kernel, op.label);
      const size = Math.max(s.params.length * 4, 16);
      const bindGroup = this.device.createBindGroup({
        label: op.label,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniformBuffer, offset, size } },
          ...s.storage.map(({ binding, name }) => {
            const b = op.storage[name] ?? this.placeholderBuffer();
            return { binding, resource: 'buffer' in b ? b : { buffer: b } };
          }),
        ],
      });
      this.checkGrid(op);
      prepared.push({ desc: op, pipeline, bindGroup });
      offset += slot(s.params.length);
    });
    this.device.queue.writeBuffer(uniformBuffer, 0, data);
    return { ops: prepared, uniformBuffer };
  }

  /** Encode prepared ops into one compute pass. */
  encode(pass: GPUComputePassEncoder, ops: readonly PreparedOp[]): void {
    for (const op of ops) {
      pass.setPipeline(op.pipeline);
      pass.setBindGroup(0, op.bindGroup);
      const [x, y = 1, z = 1] = op.desc.workgroups;
      pass.dispatchWorkgroups(x, y, z);
    }
  }

  private checkGrid(op: OpDesc): void {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    for (const n of op.workgroups) {
      if (n === undefined) continue;
      const problem = !Number.isInteger(n) || n < 1 ? `has ${n} workgroups in a dimension (a whole number of at least 1 is needed)` : n > max ? `exceeds the device's ${max} workgroups per dimension` : null;
      if (problem) throw new KernelError(`${describeKernel(op.label, op.kernel)}: grid ${JSON.stringify(op.workgroups)} ${problem}`);
    }
  }
}
