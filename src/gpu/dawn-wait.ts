// Node only: a CPU adapter's GPU promises awaited without letting Dawn's binding spin a core.
//
// While one of its promises (onSubmittedWorkDone, mapAsync) is pending, the binding processes
// Dawn's events from a setImmediate that re-arms itself, so the event loop never sleeps. On a
// CPU adapter (lavapipe, SwiftShader) that thread takes a core from the driver's worker threads:
// lavapipe's forward pass at batch 8 took 32 ms per image when polled from start to end.
//
// `throttleWaits(device)` routes the device's own promises (its queue's onSubmittedWorkDone, the
// mapAsync of the mappable buffers it creates) through `awaitInSlices`: while any is pending,
// one more immediate per turn of the event loop blocks the thread for SLICE_MS (Atomics.wait,
// a sleep in the kernel). The loop still turns every slice, so the binding's tick, timers and
// I/O all run and a promise resolves within about a slice of the work being done, but the thread
// itself uses next to no CPU. Every user of the device is covered, tfjs' WebGPU backend (the
// training) included. Measured on lavapipe (2 cores; bench/README.md, "Waiting in slices"):
// whole passes at batch 8 16.8 against 22.8-23.1 ms per image, SwiftShader 176 against 232.
//
// On a GPU the driver's work does not need the CPU, and a slice would only add latency to a
// pass of a millisecond or two: there the device is left as it is.
import { isCpuAdapter } from './device.ts';

/** How long the thread sleeps per turn of the event loop while a wait is pending, ms. */
export const SLICE_MS = 0.5;

const cell = new Int32Array(new SharedArrayBuffer(4));
let pending = 0;
let ticking = false;

function tick(): void {
  if (pending === 0) {
    ticking = false;
    return;
  }
  // Nothing ever notifies the cell: this is a sleep of at most SLICE_MS.
  Atomics.wait(cell, 0, 0, SLICE_MS);
  setImmediate(tick);
}

/** Await `work` with the event loop sleeping in slices meanwhile (one ticker for all waits). */
function awaitInSlices<T>(work: Promise<T>): Promise<T> {
  pending++;
  if (!ticking) {
    ticking = true;
    setImmediate(tick);
  }
  return work.finally(() => {
    pending--;
  });
}

/** Waits now pending (tests). */
export function pendingSlicedWaits(): number {
  return pending;
}

const throttled = new WeakSet<GPUDevice>();

/**
 * On a CPU adapter, from now on await `device`'s promises in slices: its queue's
 * onSubmittedWorkDone, and mapAsync of the mappable buffers it creates from now on. The methods
 * are replaced on these objects only, not on Dawn's classes, so call it before anything else
 * replaces them on this device. A GPU's device is left alone. Safe to call twice.
 */
export function throttleWaits(device: GPUDevice): void {
  if (!isCpuAdapter(device) || throttled.has(device)) return;
  throttled.add(device);
  // Each replacement calls the class's method as it is at the time of the call, so that
  // whatever wraps Dawn's classes later (a test's spy, instrumentation) still sees every call.
  const queue = device.queue;
  own(queue, 'onSubmittedWorkDone', () => awaitInSlices(Object.getPrototypeOf(queue).onSubmittedWorkDone.call(queue)));
  own(device, 'createBuffer', (descriptor: GPUBufferDescriptor) => {
    const buffer = Object.getPrototypeOf(device).createBuffer.call(device, descriptor) as GPUBuffer;
    if (descriptor.usage & (GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE)) {
      own(buffer, 'mapAsync', (...args: Parameters<GPUBuffer['mapAsync']>) => awaitInSlices(Object.getPrototypeOf(buffer).mapAsync.apply(buffer, args)));
    }
    return buffer;
  });
}

/** `object[name] = value` as an own property (defined, so that a read-only method on the class would not refuse it). */
function own(object: object, name: string, value: unknown): void {
  Object.defineProperty(object, name, { value, writable: true, configurable: true, enumerable: false });
}
