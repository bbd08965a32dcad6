// The generic kernel runner. Each GPU op is a plain description (which shader, which
// constants baked into it, its uniforms, its storage bindings, its grid); this file is the
// one place that compiles pipelines (cached by shader name + constants), packs uniforms into
// buffers and builds bind groups. Modelled on tfjs-backend-webgpu's program cache and
// onnxruntime-web's ProgramManager.

export type ShaderSources = Readonly<Record<string, string>>;

export interface KernelSpec {
  /** Shader file name under shaders/, without ".wgsl". */
  shader: string;
  /**
   * Compile-time constants, prepended as `const NAME: u32 = V;`. Everything baked into the
   * code this way is part of the pipeline cache key; shapes travel as uniforms instead.
   */
  constants?: Readonly<Record<string, number>>;
}

export type UniformField = readonly ['u32' | 'i32' | 'f32', number];

export interface OpDesc {
  label: string;
  kernel: KernelSpec;
  /** Fields of the shader's `Params` struct at @binding(0), in declaration order, 4 bytes each. */
  uniforms: readonly UniformField[];
  /** Storage buffers (or ranges of them) for @binding(1), @binding(2), ... in order. */
  storage: readonly (GPUBuffer | GPUBufferBinding)[];
  /** Workgroup grid. */
  workgroups: readonly [number, number?, number?];
}

export interface PreparedOp {
  readonly desc: OpDesc;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
}

export function kernelKey(k: KernelSpec): string {
  const c = k.constants ?? {};
  return `${k.shader}(${Object.keys(c).sort().map((n) => `${n}=${c[n]}`).join(',')})`;
}

export class KernelRunner {
  private pipelines = new Map<string, GPUComputePipeline>();

  constructor(
    readonly device: GPUDevice,
    readonly shaders: ShaderSources,
  ) {}

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  source(kernel: KernelSpec): string {
    const raw = this.shaders[kernel.shader];
    if (raw === undefined) throw new Error(`no shader named "${kernel.shader}" (looked in shaders/${kernel.shader}.wgsl)`);
    // WGSL has no include: a line `// #include name` pulls in shaders/name.wgsl (helpers shared
    // by several kernels), whose own includes are pulled in too. Each file goes in once, at its
    // first include (WGSL declarations may come in any order), so two helpers can both include
    // a third. Includes come from the same library, so the cache key still holds.
    const included = new Set<string>([kernel.shader]);
    const expand = (text: string, from: string): string =>
      text.replace(/^\/\/ #include (\w+)$/gm, (_, name: string) => {
        const part = this.shaders[name];
        if (part === undefined) throw new Error(`shaders/${from}.wgsl includes "${name}", but there is no shaders/${name}.wgsl`);
        if (included.has(name)) return '';
        included.add(name);
        return expand(part, name);
      });
    const body = expand(raw, kernel.shader);
    const consts = Object.entries(kernel.constants ?? {})
      .map(([name, v]) => {
        if (!Number.isInteger(v) || v < 0) throw new Error(`constant ${name}=${v} of ${kernel.shader} must be a non-negative integer`);
        return `const ${name}: u32 = ${v}u;`;
      })
      .join('\n');
    // WGSL wants directives (`enable subgroups;`) before any declaration: keep them first.
    const directives = body.match(/^enable [^;]+;/gm) ?? [];
    return `${directives.join('\n')}\n${consts}\n${body.replace(/^enable [^;]+;/gm, '')}`;
  }

  pipeline(kernel: KernelSpec): GPUComputePipeline {
    const key = kernelKey(kernel);
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: key, code: this.source(kernel) });
      p = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
    }
    return p;
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
    const align = this.device.limits.minUniformBufferOffsetAlignment;
    const slot = (n: number) => Math.ceil(Math.max(n * 4, 16) / align) * align;
    const total = ops.reduce((s, op) => s + slot(op.uniforms.length), 0);
    const data = new ArrayBuffer(Math.max(total, 16));
    const view = new DataView(data);
    const uniformBuffer = createBuffer(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
    const prepared: PreparedOp[] = [];
    let offset = 0;
    for (const op of ops) {
      op.uniforms.forEach(([type, value], i) => {
        const at = offset + i * 4;
        if (type === 'f32') view.setFloat32(at, value, true);
        else if (type === 'i32') view.setInt32(at, value, true);
        else view.setUint32(at, value, true);
      });
      const pipeline = this.pipeline(op.kernel);
      const size = Math.max(op.uniforms.length * 4, 16);
      const bindGroup = this.device.createBindGroup({
        label: op.label,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniformBuffer, offset, size } },
          ...op.storage.map((b, i) => ({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } })),
        ],
      });
      this.checkGrid(op);
      prepared.push({ desc: op, pipeline, bindGroup });
      offset += slot(op.uniforms.length);
    }
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
      if (n !== undefined && (n > max || n < 1 || !Number.isInteger(n))) {
        throw new Error(`${op.label}: grid ${JSON.stringify(op.workgroups)} exceeds the device's ${max} workgroups per dimension`);
      }
    }
  }
}
