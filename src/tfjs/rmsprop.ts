// RMSprop for the head, one kernel per variable per step (shaders/rmsprop.wgsl) where tfjs'
// RMSPropOptimizer runs a chain of element-wise kernels. Without momentum and centering,
// which the head (Keras' RMSprop defaults) uses neither of, the update is the same
// arithmetic: test/tfjs-kernels.test.ts compares the two step by step.
import * as tf from '@tensorflow/tfjs-core';
import { acceleratedGpu } from './accelerated.ts';
import { RMSPROP_KERNEL } from './kernel-names.ts';

type NamedTensor = { name: string; tensor: tf.Tensor };

export class FusedRmsprop extends tf.Optimizer {
  static get className(): string {
    return 'FacegpuRMSProp';
  }

  /** Each variable's running mean of squared gradients, by variable name. */
  private readonly meanSquares = new Map<string, tf.Variable>();

  constructor(
    readonly learningRate: number,
    readonly rho: number,
    readonly epsilon: number,
  ) {
    super();
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const grads: [string, tf.Tensor][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    for (const [name, grad] of grads) {
      if (grad == null) continue;
      const value = tf.engine().registeredVariables[name];
      let ms = this.meanSquares.get(name);
      if (!ms) {
        ms = tf.tidy(() => tf.zerosLike(value).variable(false));
        this.meanSquares.set(name, ms);
      }
      const [newValue, newMs] = tf.engine().runKernel(RMSPROP_KERNEL, { value, ms, grad }, { lr: this.learningRate, rho: this.rho, eps: this.epsilon }) as tf.Tensor[];
      value.assign(newValue);
      ms.assign(newMs);
      tf.dispose([newValue, newMs]);
    }
    this.incrementIterations();
  }

  override dispose(): void {
    tf.dispose([...this.meanSquares.values()]);
    this.meanSquares.clear();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...[...this.meanSquares].map(([name, tensor]) => ({ name: `${name}/rms`, tensor }))];
  }

  override async setWeights(): Promise<void> {
    throw new Error('FusedRmsprop does not restore saved optimizer state');
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, rho: this.rho, epsilon: this.epsilon };
  }
}

/**
 * The head's RMSprop: the fused one where tfjs' backend runs our kernels (accelerateTfjs),
 * else tfjs' own (the CPU backend in unit tests of the training loop, for instance).
 */
export function headRmsprop(learningRate: number, rho: number, epsilon: number): tf.Optimizer {
  return acceleratedGpu(tf.backend()) ? new FusedRmsprop(learningRate, rho, epsilon) : tf.train.rmsprop(learningRate, rho, 0, epsilon);
}
