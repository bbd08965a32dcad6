// What predict and eval say about a model before using it.
import type { FaceModelMeta } from '../train/index.ts';

/** A model left by a training run that did not finish (killed, or still going) is named once on stderr. */
export function warnIfUnfinished(modelDir: string, meta: FaceModelMeta): void {
  if (meta.metrics?.status !== 'training') return;
  const m = meta.metrics;
  console.error(
    `facegpu: warning: ${modelDir}: this model is a checkpoint of a training run that did not finish (status "training", best epoch ${m.bestEpoch} of ${m.epochsRun} run${meta.config?.epochs ? ` of ${meta.config.epochs} planned` : ''}); train again for a whole run`,
  );
}
