// Ward's service worker (docs/architecture.md, "The installed app").
//
// VERSION and SHELL are written above this file at build time by
// `cargo xtask precache`: SHELL is exactly this build's shell files.
//
// It keeps the shell, and only the shell: never an API answer, a socket,
// ciphertext or an attachment. Everything under /v1/ and every request
// that is not for a shell file or a page goes to the network untouched.
// A push says at most "New message from your care team" and which thread
// to open: the relay puts no name, subject or text in it. The worker words
// it in the patient's language, which the page tells it ({type:
// 'language', lang}) and it keeps in its own small cache (PREFS).
/* global VERSION, SHELL */
'use strict';

const CACHE = 'ward-shell-' + VERSION;
// The language for notifications, under a fixed key in a cache of its own
// that a new build keeps (activate spares it) and a sign-out's
// Clear-Site-Data removes. Only Spanish is written: English, the default,
// is no entry at all, so an English Ward keeps nothing but the shell.
// Never anything a message says.
const PREFS = 'ward-prefs';
const LANGUAGE_KEY = '/ward-prefs/language';
const SHELL_PATHS = new Set(SHELL);
// Pages whose response headers differ from the app's: always the network.
const NETWORK_PAGES = new Set(['/passkey-window']);

self.addEventListener('install', (event) => {
  event.waitUntil(precache());
  // Not skipWaiting: an open Ward keeps the build it started with until the
  // patient chooses Reload (the page then asks with "skipWaiting").
});

// Every shell file of this build, fetched past the HTTP cache so that an
// old file can never be kept under this version. A file that is missing
// (a relay still serving the previous build answers an unknown name with
// the page itself) fails the install: this worker is not used, and the
// browser tries again at its next look.
async function precache() {
  const cache = await caches.open(CACHE);
  try {
    for (const url of SHELL) {
      const response = await fetch(new Request(url, { cache: 'reload' }));
      const html = (response.headers.get('content-type') || '').startsWith('text/html');
      if (!response.ok || (html && url !== '/')) {
        throw new Error('not this build: ' + url);
      }
      await cache.put(url, response);
    }
  } catch (error) {
    await caches.delete(CACHE);
    throw error;
  }
}

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== CACHE && name !== PREFS && name.startsWith('ward-')) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })()
  );
});

self.addEventListener('message', (event) => {
  if (event.origin !== self.location.origin || !event.data) return;
  if (event.data.type === 'skipWaiting') {
    self.skipWaiting();
  } else if (event.data.type === 'language' && Object.prototype.hasOwnProperty.call(TEXT, event.data.lang)) {
    event.waitUntil(keepLanguage(event.data.lang));
  }
});

// One write at a time, in the order told (a quick switch back and forth
// ends on the last language).
let keeping = Promise.resolve();

function keepLanguage(lang) {
  keeping = keeping
    .then(async () => {
      if (lang === 'en') {
        await caches.delete(PREFS);
      } else {
        const prefs = await caches.open(PREFS);
        await prefs.put(LANGUAGE_KEY, new Response(lang, { headers: { 'content-type': 'text/plain' } }));
      }
    })
    .catch(() => {
      // Storage refused: notifications stay in the language kept before.
    });
  return keeping;
}

// The language kept, else English. (caches.match with a cacheName does not
// create the cache, as caches.open would.)
async function language() {
  try {
    const kept = await caches.match(LANGUAGE_KEY, { cacheName: PREFS });
    const lang = kept ? (await kept.text()).trim() : 'en';
    return Object.prototype.hasOwnProperty.call(TEXT, lang) ? lang : 'en';
  } catch (_) {
    return 'en';
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  if (request.mode === 'navigate') {
    if (NETWORK_PAGES.has(url.pathname)) return;
    // Any page of the app is the app's one page: it starts with no signal.
    event.respondWith(fromShell('/', request));
    return;
  }
  if (SHELL_PATHS.has(url.pathname)) {
    event.respondWith(fromShell(url.pathname, request));
  }
});

// The shell file from this version's cache; the network if it is somehow
// missing (the answer is not kept).
async function fromShell(path, request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(path);
  return kept || fetch(request);
}

// What a notification says, by language and kind: fixed words only.
const TEXT = {
  en: {
    message: 'New message from your care team',
    receipt: 'Your care team read your message',
    test: 'Notifications from Ward are working',
  },
  es: {
    message: 'Nuevo mensaje de su equipo de atención',
    receipt: 'Su equipo de atención leyó su mensaje',
    test: 'Las notificaciones de Ward funcionan',
  },
};

self.addEventListener('push', (event) => {
  let note = {};
  try {
    note = event.data ? event.data.json() : {};
  } catch (_) {
    // Not Ward's format: still say something, and nothing more.
  }
  const kind = Object.prototype.hasOwnProperty.call(TEXT.en, note.kind) ? note.kind : 'message';
  const thread = typeof note.thread === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(note.thread) ? note.thread : null;
  const unread = Number.isInteger(note.unread) && note.unread >= 0 ? note.unread : null;
  event.waitUntil(
    (async () => {
      if (kind !== 'test' && 'setAppBadge' in self.navigator) {
        try {
          if (unread === 0) await self.navigator.clearAppBadge();
          else if (unread !== null) await self.navigator.setAppBadge(unread);
          else if (kind === 'message') await self.navigator.setAppBadge();
        } catch (_) {
          // A badge is a nicety: the notification still shows.
        }
      }
      const lang = await language();
      await self.registration.showNotification('Ward', {
        body: TEXT[lang][kind],
        lang,
        tag: 'ward-' + kind,
        renotify: kind === 'message',
        icon: '/icon-192.png',
        badge: '/icon-192.png',
        data: { thread },
      });
    })()
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const thread = event.notification.data && event.notification.data.thread;
  event.waitUntil(openWard(thread));
});

// Shows Ward on the thread: an open Ward window is asked to go there (it
// stays unlocked; a new page would not be), else a new window opens on it.
async function openWard(thread) {
  const path = thread ? '/threads/' + thread : '/';
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => w.frameType !== 'nested' && new URL(w.url).origin === self.location.origin);
  if (open) {
    open.postMessage({ ward: 1, type: 'open', thread });
    try {
      await open.focus();
    } catch (_) {
      // Focus needs the click's permission; the window was told anyway.
    }
    return;
  }
  await self.clients.openWindow(path);
}
