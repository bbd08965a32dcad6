// `index --queue` beside a worker from before minFace: its answers carry no `minFace`, so it
// looked at the whole photo only. The owner takes them for a run that asks for nothing more,
// and refuses them, naming the worker, for a run that asks for small faces (storing them would
// record photos as searched for faces they were never searched for). The old worker is a
// BullMQ worker of the test's own that answers each photo as unreadable.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexLibrary } from '../src/library/index-run-node.ts';
import { QUEUE_NAME, type IndexJobData } from '../src/library/queue-node.ts';
import { ORL } from './helpers/faces.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

let tmp: string;
let redis: TestRedis;
let client: Redis;
let old: Worker;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'facegpu-old-worker-'));
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  old = new Worker(
    QUEUE_NAME,
    async (job) => ({
      worker: 'old-worker',
      // What a worker from before minFace answered: no `minFace` beside the photos.
      photos: (job.data as IndexJobData).paths.map((path) => {
        const st = statSync(path);
        return { path, size: st.size, mtimeMs: st.mtimeMs, sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), error: 'answered by the old worker' };
      }),
    }),
    { connection: client },
  );
  await old.waitUntilReady();
}, 60_000);
afterAll(async () => {
  await old?.close();
  client?.disconnect();
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('an older worker', () => {
  it('is refused by a run that asks for small faces, naming it; a run that does not takes its answers', async () => {
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    for (const k of [1, 2]) copyFileSync(join(ORL, 's1', `${k}.pgm`), join(photos, `${k}.pgm`));
    await expect(indexLibrary(photos, join(tmp, 'small-faces'), { queue: redis.url, minFace: 80 })).rejects.toThrow(
      'worker old-worker cannot look for faces down to 80 pixels (a facegpu before minFace); update it',
    );
    const whole = await indexLibrary(photos, join(tmp, 'whole'), { queue: redis.url });
    expect(whole.failed.map((f) => f.error)).toEqual(['answered by the old worker', 'answered by the old worker']);
  });
});
