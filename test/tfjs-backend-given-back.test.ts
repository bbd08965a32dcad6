// tfjs has one backend per process: facegpu's face detector puts it on facegpu's device while
// that is open. A program with its own tfjs (on the CPU backend here) gets its backend back
// once the device is destroyed, and its tfjs works on (it met an aborted device instead).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expect, it, vi } from 'vitest';
import { openFaceDescriber } from '../src/faces/node.ts';
import { openEngine } from '../src/node.ts';

it("a program's own tfjs backend is set again once facegpu's device is destroyed", async () => {
  await tf.setBackend('cpu');
  const { gpu, engine } = await openEngine();
  const describer = await openFaceDescriber(gpu, engine);
  expect(tf.getBackend()).toBe('webgpu');
  describer.destroy();
  engine.destroy();
  gpu.destroy();
  await vi.waitFor(() => expect(tf.getBackend()).toBe('cpu'), { timeout: 5000 });
  const squares = tf.square(tf.tensor([1, 2, 3]));
  expect(Array.from(await squares.data())).toEqual([1, 4, 9]);
}, 120_000);
