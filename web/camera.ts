// Webcam capture in a dialog: one photo per click, handed back as a PNG Blob; and the camera's
// stream itself, for the Identify tab's live mode.
import { $ } from './dom.ts';

let hasCamera = false;

/** Look for a camera once (no permission prompt: only the kinds of devices are listed). */
export async function detectCamera(): Promise<boolean> {
  if (!navigator.mediaDevices?.getUserMedia || !navigator.mediaDevices.enumerateDevices) return false;
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  hasCamera = devices.some((d) => d.kind === 'videoinput');
  return hasCamera;
}

/** Whether a camera was found (after detectCamera). */
export const cameraAvailable = () => hasCamera;

/** The user-facing camera at about 640x480 (the permission prompt, where there is one, comes here). */
export function cameraStream(): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
}

/** Open the camera dialog; `onPhoto` gets each photo taken until the dialog is closed. */
export async function openCamera(title: string, onPhoto: (photo: File) => void): Promise<void> {
  const dialog = $<HTMLDialogElement>('#camera-dialog');
  const video = $<HTMLVideoElement>('#camera-video');
  $('#camera-title').textContent = title;
  let stream: MediaStream;
  try {
    stream = await cameraStream();
  } catch (err) {
    alert(`The camera could not be opened: ${(err as Error).message}`);
    return;
  }
  video.srcObject = stream;
  let shots = 0;
  const snap = async () => {
    if (video.readyState < 2) return;
    const canvas = Object.assign(document.createElement('canvas'), { width: video.videoWidth, height: video.videoHeight });
    canvas.getContext('2d')!.drawImage(video, 0, 0);
    const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
    if (blob) onPhoto(new File([blob], `camera-${Date.now()}-${++shots}.png`, { type: 'image/png' }));
  };
  const snapButton = $<HTMLButtonElement>('#camera-snap');
  const close = () => dialog.close();
  snapButton.addEventListener('click', snap);
  $('#camera-cancel').addEventListener('click', close, { once: true });
  dialog.addEventListener(
    'close',
    () => {
      snapButton.removeEventListener('click', snap);
      stream.getTracks().forEach((t) => t.stop());
      video.srcObject = null;
    },
    { once: true },
  );
  dialog.showModal();
}
