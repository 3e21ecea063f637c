// @ts-check
// The installed app (issue 18): the service worker keeps exactly the shell,
// Ward starts with no signal and sends what waited once the signal is back,
// a new build is offered ("A new version of Ward is ready") and its Reload
// loses no draft, and a push from the relay, through a push service of the
// test's own, shows a notification that says nothing private and opens the
// thread.
const { test, expect } = require('@playwright/test');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const ece = require('http_ece');
const s = require('../support');

const dist = path.join(__dirname, '..', '..', '..', 'dist');

/** The shell files this build made, as the worker names them. */
function shellOf(dir) {
  return fs.readdirSync(dir)
    .filter((f) => /\.(html|js|wasm|css|webmanifest|svg|png|ico|json)$/.test(f) && f !== 'sw.js' && !f.startsWith('screenshot'))
    .map((f) => (f === 'index.html' ? '/' : `/${f}`))
    .sort();
}

/** Waits until the worker controls the page. */
async function controlled(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 50));
  });
}

/** Every cache of the page's origin, with the paths it holds. */
async function cacheStorage(page) {
  return page.evaluate(async () => {
    /** @type {Record<string, string[]>} */
    const out = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
    }
    return out;
  });
}

/** Starts a conversation with `text` and returns its thread id. */
async function startThread(page, text) {
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Appointment' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: text })).toContainText('Sent');
  return /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
}

test('the worker keeps exactly the shell; Ward starts offline and sends what waited once back online', async ({ page, context, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Ines Okafor', contact: 'ines.pwa@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await controlled(page);
  const threadId = await startThread(page, 'Can the pharmacy hold my refill?');

  // After a whole session: one cache, of this build's shell, and nothing
  // else (no API answer, no ciphertext).
  const worker = await (await request.get('/sw.js')).text();
  const listed = JSON.parse(/** @type {RegExpMatchArray} */ (worker.match(/const SHELL = (\[.*\]);/))[1]).sort();
  expect(listed).toEqual(shellOf(dist));
  const stored = await cacheStorage(page);
  expect(Object.keys(stored)).toHaveLength(1);
  expect(Object.keys(stored)[0]).toMatch(/^ward-shell-/);
  expect(Object.values(stored)[0]).toEqual(listed);

  // No signal: what is written waits, sealed, in the outbox, and Ward
  // still starts (from the worker) after a reload.
  await context.setOffline(true);
  const offline = 'Written in the basement with no signal';
  await page.getByRole('textbox', { name: 'Message' }).fill(offline);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: offline })).toContainText('Waiting for a connection');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(page.locator('.relay-status')).toContainText("Can't reach Ward");
  expect(await s.idbRecords(page, 'outbox')).toHaveLength(1);

  // Signal again: sign in (back on the conversation the address names),
  // and the waiting message goes, once.
  await context.setOffline(false);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: offline })).toContainText('Sent');
  expect(s.clinic('read', threadId).split(offline).length - 1, 'delivered exactly once').toBe(1);
  expect(Object.values(await cacheStorage(page)).flat().filter((p) => !listed.includes(p))).toEqual([]);

  // Installable as Chrome judges it (what Lighthouse's installability
  // audit asks Chrome). A test's browser context is an incognito one,
  // where Chrome installs nothing: that is the one answer allowed.
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  expect(installabilityErrors.filter((e) => e.errorId !== 'in-incognito')).toEqual([]);
  const manifest = await (await request.get('/manifest.webmanifest')).json();
  expect(manifest.icons.map((/** @type {any} */ i) => `${i.sizes} ${i.purpose}`)).toEqual(
    expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable']),
  );
  for (const shot of manifest.screenshots) {
    expect((await request.get(shot.src)).status(), shot.src).toBe(200);
  }
});

test('a new build is offered, and its Reload keeps the draft (sealed while it waits)', async ({ page }) => {
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-e2e-site-'));
  fs.cpSync(dist, site, { recursive: true });
  const relay = await s.ownRelay({ staticDir: site });
  try {
    await s.addAuthenticator(page, { prf: true });
    const recovery = await s.enrollThroughScreens(page, page.request, { name: 'Tomas Berg', contact: 'tomas.update@example.com', relay });
    await s.confirmRecoveryCode(page, recovery);
    await controlled(page);
    await startThread(page, 'Is the new dose taken with food?');
    const draft = 'Half-written question about the evening dose';
    await page.getByRole('textbox', { name: 'Message' }).fill(draft);
    const before = Object.keys(await cacheStorage(page));

    // A new build on the relay.
    const workerFile = path.join(site, 'sw.js');
    fs.writeFileSync(workerFile, fs.readFileSync(workerFile, 'utf8').replace(/const VERSION = "[^"]*";/, 'const VERSION = "e2e-next-build";'));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    const banner = page.getByRole('status').filter({ hasText: 'A new version of Ward is ready.' });
    await expect(banner).toBeVisible();
    await banner.getByRole('button', { name: 'Reload' }).click();

    // The new build runs, the old cache is gone, and the draft waits sealed.
    await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
    await expect.poll(async () => Object.keys(await cacheStorage(page))).toEqual(['ward-shell-e2e-next-build']);
    expect(before).not.toContain('ward-shell-e2e-next-build');
    const kept = await s.idbRecords(page, 'drafts');
    expect(kept).toHaveLength(1);
    expect(Buffer.from(kept[0].envelope).toString('latin1')).not.toContain('evening');

    // Back on the conversation the address names, with the draft.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue(draft);
    expect(await s.idbRecords(page, 'drafts')).toHaveLength(0);
  } finally {
    await relay.stop();
    fs.rmSync(site, { recursive: true, force: true });
  }
});

/** A push service of the test's own: keeps every request it is sent. */
async function pushService() {
  /** @type {{headers: http.IncomingHttpHeaders, body: Buffer, path: string}[]} */
  const received = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts), path: req.url ?? '' });
      res.writeHead(201).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return { origin: `http://127.0.0.1:${port}`, received, close: () => server.close() };
}

test('a push says nothing private, shows a notification, and opens the thread', async ({ page, context }) => {
  const service = await pushService();
  const relay = await s.ownRelay({ toml: `push_services = ["${service.origin}"]\n` });
  try {
    // This browser's push subscription, as its push service would make
    // it (headless Chromium reaches no real push service): the keys are the
    // test's, so it can read what the relay sends.
    const receiver = crypto.createECDH('prime256v1');
    receiver.generateKeys();
    const auth = crypto.randomBytes(16);
    const endpoint = `${service.origin}/push/e2e-device`;
    await context.addInitScript(({ endpoint, p256dh, auth }) => {
      /** @type {any} */
      let current = null;
      PushManager.prototype.subscribe = async function (options) {
        if (!options?.userVisibleOnly || !options.applicationServerKey) throw new DOMException('no key', 'NotAllowedError');
        const key = new Uint8Array(options.applicationServerKey);
        // @ts-ignore
        window.wardTestServerKey = btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        current = {
          endpoint,
          options: { userVisibleOnly: true, applicationServerKey: key.buffer },
          toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
          unsubscribe: async () => { current = null; return true; },
        };
        return current;
      };
      PushManager.prototype.getSubscription = async function () { return current; };
    }, { endpoint, p256dh: receiver.getPublicKey().toString('base64url'), auth: auth.toString('base64url') });
    await context.grantPermissions(['notifications'], { origin: relay.url });

    await s.addAuthenticator(page, { prf: true });
    const recovery = await s.enrollThroughScreens(page, page.request, { name: 'Ada Lindqvist', contact: 'ada.push@example.com', relay });
    await s.confirmRecoveryCode(page, recovery);
    await controlled(page);
    const threadId = await startThread(page, 'My rash is spreading to my arms');

    // Settings → Install Ward appears where the browser offers to install
    // (here an offer made by the test, as Chrome's would be) and shows the
    // browser's own prompt.
    await page.getByRole('link', { name: 'Security', exact: true }).click();
    await expect(page.getByRole('region', { name: 'Install Ward' })).toHaveCount(0);
    await page.evaluate(() => {
      const offer = /** @type {any} */ (new Event('beforeinstallprompt', { cancelable: true }));
      offer.prompt = async () => { /** @type {any} */ (window).wardPrompted = true; };
      dispatchEvent(offer);
    });
    await page.getByRole('region', { name: 'Install Ward' }).getByRole('button', { name: 'Install Ward' }).click();
    expect(await page.evaluate(() => /** @type {any} */ (window).wardPrompted)).toBe(true);
    await expect(page.getByRole('button', { name: 'Install Ward' }), 'an offer is used once').toHaveCount(0);

    // Settings → Notifications, from a tap.
    const card = page.getByRole('region', { name: 'Notifications' });
    await card.getByRole('button', { name: 'Allow notifications' }).click();
    await expect(card.getByTestId('notifications-state')).toHaveText('Notifications are on for this device.');
    const { public_key: relayKey } = await (await page.request.get(`${relay.url}/v1/push/key`)).json();
    expect(await page.evaluate(() => /** @type {any} */ (window).wardTestServerKey)).toBe(relayKey);

    /** The next push the service receives, decrypted. */
    const nextPush = async (seen) => {
      await expect.poll(() => service.received.length, { timeout: 20_000 }).toBeGreaterThan(seen);
      const push = service.received[seen];
      const plain = ece.decrypt(push.body, { version: 'aes128gcm', privateKey: receiver, authSecret: auth.toString('base64url') });
      return { push, plain: plain.toString('utf8') };
    };
    await card.getByRole('button', { name: 'Test notifications' }).click();
    await expect(card.getByText('A test notification is on its way.')).toBeVisible();
    const test = await nextPush(0);
    expect(JSON.parse(test.plain).kind).toBe('test');

    // The patient locks Ward (which ends its session at the relay) and
    // leaves it: the clinic's reply is pushed all the same.
    await page.getByRole('button', { name: 'Lock now' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeVisible();
    await page.goto('about:blank');
    const seen = service.received.length;
    const reply = 'Please send a photo of the rash to Dr. Osei';
    s.clinicAt(relay, `${reply}\n`, 'reply', threadId, '-');
    const { push, plain } = await nextPush(seen);
    expect(push.path).toBe('/push/e2e-device');
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(push.headers.ttl)).toBeGreaterThan(0);
    expect(push.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(push.headers.authorization).toMatch(/^vapid t=[^,]+, k=/);
    const note = JSON.parse(plain);
    expect(note).toMatchObject({ kind: 'message', thread: threadId });
    for (const secret of ['rash', 'Osei', 'Ada', 'Lindqvist', 'photo', 'Riverside']) {
      expect(plain, `the push carries no "${secret}"`).not.toContain(secret);
    }

    // Delivered to the worker as the browser would: a notification with
    // the generic words, whose tap opens the thread in the open Ward.
    await page.goto(relay.url);
    await controlled(page);
    const cdp = await context.newCDPSession(page);
    /** @type {string[]} */
    const registrations = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations.map((r) => r.registrationId)));
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => registrations.length).toBeGreaterThan(0);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: relay.url, registrationId: registrations[0], data: plain });
    const shown = async () => page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, thread: n.data?.thread }));
    });
    await expect.poll(shown).toContainEqual({ title: 'Ward', body: 'New message from your care team', thread: threadId });

    // The tap: the worker's click handler's work, on the shown notification
    // (a test cannot click a system notification).
    const [worker] = context.serviceWorkers();
    await worker.evaluate(async (thread) => {
      const notes = await /** @type {any} */ (self).registration.getNotifications();
      const note = notes.find((/** @type {any} */ n) => n.data?.thread === thread);
      await /** @type {any} */ (self).openWard(note.data.thread);
    }, threadId);
    await expect(page).toHaveURL(new RegExp(`/threads/${threadId}$`));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page.getByText(reply)).toBeVisible();
  } finally {
    await relay.stop();
    service.close();
  }
});
