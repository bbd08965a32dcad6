// Every GPU buffer facegpu creates goes through a BufferPool so that live count and bytes
// can be checked (the 1,000-forward-pass test holds both flat) and everything an engine
// owns can be released in one call.

export class BufferPool {
  private live = new Map<GPUBuffer, number>();

  constructor(readonly device: GPUDevice) {}

  create(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    // WebGPU requires sizes in multiples of 4 for copies and mapping.
    const padded = Math.max(4, Math.ceil(size / 4) * 4);
    const buf = this.device.createBuffer({ size: padded, usage, label });
    this.live.set(buf, padded);
    return buf;
  }

  /** A storage buffer filled with `data` at creation (used for weights). */
  createWith(data: ArrayBufferView, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const buf = this.create(data.byteLength, usage | GPUBufferUsage.COPY_DST, label);
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  destroy(buf: GPUBuffer | null | undefined): void {
    if (!buf || !this.live.has(buf)) return;
    this.live.delete(buf);
    buf.destroy();
  }

  destroyAll(): void {
    for (const buf of this.live.keys()) buf.destroy();
    this.live.clear();
  }

  get count(): number {
    return this.live.size;
  }

  get bytes(): number {
    let total = 0;
    for (const size of this.live.values()) total += size;
    return total;
  }
}

export const STORAGE = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC, without needing GPUBufferUsage at import time

/** Copy `size` bytes of `src` into a fresh mappable buffer and read them back. */
export async function readBuffer(
  device: GPUDevice,
  src: GPUBuffer,
  size: number,
  offset = 0,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0);
  } finally {
    staging.destroy();
  }
}
