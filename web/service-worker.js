// facegpu demo page: offline support for the static build (the dev server registers none).
// The build writes the list of its files and a version into PRECACHE/VERSION below; they are
// cached when the worker installs, and served from the cache when the network is gone.
// The face detector (detect/blazeface.json + .bin) and the backbone's reference calibration
// (calibration/face.json: the Identify tab's thresholds and normalisation) are precached with
// the page. The backbone's weights.bin is not cached here: the page keeps it in its own Cache
// API entry, checked by sha256 (src/browser/weights.ts).
const VERSION = '__FACEGPU_VERSION__';
const PRECACHE = __FACEGPU_PRECACHE__;
const CACHE = `facegpu-page-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('facegpu-page-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Network first (a new build is picked up at once), the cache when offline.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || /\/weights\/[^/]+\/weights\.bin$/.test(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
