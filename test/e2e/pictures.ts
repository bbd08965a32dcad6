// Pictures the browser tests make from the data set's photos (sharp only): a picture with two
// faces, a photo scaled (a copy), and a short video for Chromium's fake camera.
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';

/** Two photos side by side, both scaled to 300 px high, on grey. */
export async function twoFaces(a: string, b: string, file: string): Promise<void> {
  const [ia, ib] = await Promise.all([a, b].map((f) => sharp(f).resize({ height: 300 }).toBuffer({ resolveWithObject: true })));
  const width = ia.info.width + ib.info.width + 60;
  await sharp({ create: { width, height: 340, channels: 3, background: { r: 90, g: 90, b: 96 } } })
    .composite([
      { input: ia.data, left: 20, top: 20 },
      { input: ib.data, left: ia.info.width + 40, top: 20 },
    ])
    .jpeg({ quality: 92 })
    .toFile(file);
}

/** The photo again, scaled by `scale` and saved as another JPEG: the same face, other bytes and pixels. */
export async function scaledCopy(photo: string, file: string, scale = 1.5): Promise<void> {
  const { width } = await sharp(photo).metadata();
  await sharp(photo).resize({ width: Math.round(width! * scale) }).jpeg({ quality: 88 }).toFile(file);
}

/**
 * A short Y4M video (what Chromium's fake camera plays, looped): the photo centred on grey at
 * 640x480, drifting a few pixels from frame to frame so that every frame is new. 4:2:0, BT.601.
 */
export async function y4mOf(photo: string, file: string, frames = 8): Promise<void> {
  const W = 640, H = 480;
  const face = await sharp(photo).resize({ height: 400 }).toBuffer({ resolveWithObject: true });
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${W} H${H} F15:1 Ip A1:1 C420jpeg\n`)];
  for (let k = 0; k < frames; k++) {
    // Flattened: a composite comes out with an alpha channel.
    const composed = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 120, g: 124, b: 130 } } })
      .composite([{ input: face.data, left: Math.round((W - face.info.width) / 2) + k * 2, top: 40 }])
      .png()
      .toBuffer();
    const { data, info } = await sharp(composed).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== W || info.height !== H) throw new Error(`y4m: expected ${W}x${H} RGB, got ${info.width}x${info.height}x${info.channels}`);
    const y = Buffer.alloc(W * H), u = Buffer.alloc((W / 2) * (H / 2)), v = Buffer.alloc((W / 2) * (H / 2));
    for (let i = 0; i < W * H; i++) y[i] = Math.round(0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2]);
    for (let r = 0; r < H / 2; r++) {
      for (let c = 0; c < W / 2; c++) {
        let R = 0, G = 0, B = 0;
        for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const i = 3 * ((2 * r + dy) * W + 2 * c + dx);
          R += data[i] / 4;
          G += data[i + 1] / 4;
          B += data[i + 2] / 4;
        }
        u[r * (W / 2) + c] = Math.max(0, Math.min(255, Math.round(-0.168736 * R - 0.331264 * G + 0.5 * B + 128)));
        v[r * (W / 2) + c] = Math.max(0, Math.min(255, Math.round(0.5 * R - 0.418688 * G - 0.081312 * B + 128)));
      }
    }
    parts.push(Buffer.from('FRAME\n'), y, u, v);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** The photo scaled to `height` px high, far off in a 4000x3000 picture (grey around it): its face is small there. */
export async function farOff(photo: string, file: string, height = 360): Promise<void> {
  const small = await sharp(photo).resize({ height }).toBuffer();
  await sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: 90, g: 90, b: 96 } } })
    .composite([{ input: small, left: 2500, top: 1700 }])
    .jpeg({ quality: 92 })
    .toFile(file);
}
