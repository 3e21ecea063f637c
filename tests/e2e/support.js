// @ts-check
// What the specs share: the clinic's side (invites, through the API), the
// patient's inbox (the relay's dev outbox file), virtual authenticators,
// an authenticator app (RFC 6238), and screenshots for docs/screens.
const crypto = require('node:crypto');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('@playwright/test');
const { wordsIn } = require('./catalogue');

const data = /** @type {string} */ (process.env.WARD_DATA_DIR);

/**
 * A relay the specs talk to: its URL (the page's origin), its data
 * directory, and the clinic's key file for it.
 * @typedef {{ url: string, data: string, keyFile: string }} RelayPlace
 */

/** The e2e relay xtask started, which every spec shares. @type {RelayPlace} */
const shared = { url: /** @type {string} */ (process.env.WARD_URL), data, keyFile: path.join(data, 'e2e-clinic.key') };

const clinicEnv = () => ({ ...process.env, WARD_CLINIC_PASSPHRASE: 'e2e clinic passphrase' });

/** Runs the clinic agent (`ward-clinic ...`) against the e2e relay; returns what it printed. */
function clinic(...args) {
  return clinicWithInput('', ...args);
}

/** Runs the clinic agent with `input` on its standard input. */
function clinicWithInput(input, ...args) {
  return clinicAt(shared, input, ...args);
}

/** Runs the clinic agent against `relay` with `input` on its standard input; returns what it printed. */
function clinicAt(relay, input, ...args) {
  return execFileSync(/** @type {string} */ (process.env.WARD_CLINIC_BIN), [
    '--relay', relay.url, '--key-file', relay.keyFile, ...args,
  ], { env: clinicEnv(), encoding: 'utf8', input });
}

/**
 * Sets the clinic of a fresh relay up through the clinic agent
 * (`ward-clinic init`): the clinic inbox account, its published keys,
 * and its key file, with the setup code from the relay's data directory.
 */
function initClinic(relay) {
  execFileSync(/** @type {string} */ (process.env.WARD_CLINIC_BIN), [
    '--relay', relay.url, '--key-file', relay.keyFile,
    'init', '--name', 'Riverside Clinic', '--setup-code-file', path.join(relay.data, 'clinic-setup-code'),
  ], { env: clinicEnv(), stdio: 'pipe' });
}

/**
 * Starts the clinic agent against `relay` in the background with its
 * standard input open: `write(line)` hands it one line, `end()` closes its
 * input, `lines()` is what it printed so far, `exited` resolves with its
 * exit code and what it said on stderr.
 */
function clinicPipe(relay, ...args) {
  const child = spawn(/** @type {string} */ (process.env.WARD_CLINIC_BIN), [
    '--relay', relay.url, '--key-file', relay.keyFile, ...args,
  ], { env: { ...clinicEnv(), RUST_LOG: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  /** @type {Promise<{ code: number | null, stderr: string }>} */
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr: err })));
  return {
    write: (/** @type {string} */ line) => { child.stdin.write(`${line}\n`); },
    end: () => { child.stdin.end(); },
    lines: () => out.split('\n').filter(Boolean),
    stderr: () => err,
    exited,
    stop: () => { child.kill(); },
  };
}

/**
 * Starts `ward-clinic watch THREAD --seconds N` in the background;
 * `output()` is what it printed so far, `ready` resolves once it listens.
 */
function clinicWatch(threadId, seconds) {
  const child = spawn(/** @type {string} */ (process.env.WARD_CLINIC_BIN), [
    '--relay', shared.url, '--key-file', shared.keyFile,
    'watch', threadId, '--seconds', String(seconds),
  ], { env: clinicEnv() });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const ready = new Promise((resolve) => {
    child.stderr.on('data', (d) => { if (String(d).includes('watching')) resolve(undefined); });
  });
  return { output: () => out, ready, stop: () => child.kill() };
}

/** The codes sent to `contact` by `relay`, oldest first (the dev sink's log). */
function codesFor(contact, relay = shared) {
  const file = path.join(relay.data, 'dev-outbox.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n')
    .map((line) => line.split('\t'))
    .filter(([to, , code]) => to === contact && code)
    .map(([, , code]) => code);
}

/** Waits for a code newer than the `seen` first ones. */
async function nextCode(contact, seen, relay = shared) {
  await expect.poll(() => codesFor(contact, relay).length, { message: `a code for ${contact}` }).toBeGreaterThan(seen);
  const codes = codesFor(contact, relay);
  return codes[codes.length - 1];
}

/** The clinic (of `relay`) invites a patient; returns the invite code. */
async function invite(_request, displayName, contact, relay = shared) {
  return clinicAt(relay, '', 'invite', '--name', displayName, '--contact', contact).trim();
}

/** A platform authenticator for the page's browser context, with or without PRF. */
async function addAuthenticator(page, { prf }) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      ...(prf ? { hasPrf: true } : {}),
    },
  });
  return { cdp, authenticatorId };
}

/** Copies the passkeys of one authenticator into another (a synced passkey). */
async function syncPasskeys(from, to) {
  const { credentials } = await from.cdp.send('WebAuthn.getCredentials', { authenticatorId: from.authenticatorId });
  for (const credential of credentials) {
    await to.cdp.send('WebAuthn.addCredential', { authenticatorId: to.authenticatorId, credential });
  }
  return credentials.length;
}

/** RFC 6238 (SHA-1, 6 digits, 30 s): what an authenticator app shows `offset` steps from now. */
function totp(base32, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/**
 * Moves every session of the account with `contact` an hour into the past,
 * so the relay asks for a fresh sign-in (step-up) before sensitive changes.
 * Writes the relay's SQLite file directly (Python's sqlite3: Node 20 has none).
 */
function ageSessions(contact) {
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'n = db.execute("UPDATE sessions SET created_at = created_at - 3600000 WHERE account_id IN (SELECT account_id FROM accounts WHERE contact = ?)", (sys.argv[2],)).rowcount',
    'db.commit()',
    'print(n)',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script, path.join(data, 'ward.sqlite3'), contact], { encoding: 'utf8' });
  return Number(out.trim());
}

/** The account id of the account whose codes go to `contact`, read from the relay's SQLite file. */
function accountId(contact) {
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'print(db.execute("SELECT account_id FROM accounts WHERE contact = ?", (sys.argv[2],)).fetchone()[0])',
  ].join('\n');
  return execFileSync('python3', ['-c', script, path.join(data, 'ward.sqlite3'), contact], { encoding: 'utf8' }).trim();
}

/**
 * For each epoch of `threadId`, the display names of the members its key is
 * sealed to, read from the relay's SQLite file ({ "0": ["Sam", ...], ... }).
 */
function sealedTo(threadId) {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'rows = db.execute("SELECT k.epoch, a.display_name FROM sealed_keys k JOIN accounts a ON a.account_id = k.member_id WHERE k.thread_id = ? ORDER BY k.epoch, a.display_name", (sys.argv[2],)).fetchall()',
    'out = {}',
    'for epoch, name in rows: out.setdefault(str(epoch), []).append(name)',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, path.join(data, 'ward.sqlite3'), threadId], { encoding: 'utf8' }));
}

/** Every record in the page origin's IndexedDB store `store` of the "ward" database ([] when it has none). */
async function idbRecords(page, store) {
  return page.evaluate((name) => new Promise((resolve, reject) => {
    const open = indexedDB.open('ward');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(name)) { db.close(); resolve([]); return; }
      const all = db.transaction(name).objectStore(name).getAll();
      all.onsuccess = () => {
        db.close();
        // Bytes as plain arrays: what crosses back to the test must be JSON.
        resolve(all.result.map((r) => Object.fromEntries(Object.entries(r)
          .map(([k, v]) => [k, v instanceof Uint8Array ? Array.from(v) : (v instanceof CryptoKey ? 'CryptoKey' : v)]))));
      };
    };
  }), store);
}

const screensDir = path.join(__dirname, '..', '..', 'docs', 'screens');

/** A 360×740 screenshot into docs/screens (only when WARD_SCREENSHOTS=1, so test runs leave the tree clean). */
async function screenshot(page, name) {
  if (process.env.WARD_SCREENSHOTS !== '1') return;
  fs.mkdirSync(screensDir, { recursive: true });
  await page.screenshot({ path: path.join(screensDir, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}

/** No check on a step (enrollThroughScreens' and confirmRecoveryCode's `at` by default). */
async function noCheck(_step) {}

/**
 * Enrolls a patient through the screens (on `relay`, the shared one unless
 * given), with the clinic's invite or with `inviteCode` (a caregiver's, from
 * the patient); returns the recovery code shown. `at(step)`, if given, is
 * awaited on each screen once it shows ('invitation', 'is this you',
 * 'enter your code', 'wrong code', 'consent', 'create passkey',
 * 'recovery code'): a spec's checks of every step.
 */
async function enrollThroughScreens(page, request, { name, contact, shots = false, wrongCodeFirst = false, relay = shared, inviteCode = undefined, at = noCheck, lang = 'en' }) {
  const say = wordsIn(/** @type {'en' | 'es'} */ (lang));
  const code = inviteCode ?? await invite(request, name, contact, relay);
  const seen = codesFor(contact, relay).length;
  await page.goto(new URL(`/enroll#invite=${encodeURIComponent(code)}`, relay.url).href);
  await expect(page.getByRole('heading', { level: 1, name: say('Set up your account') })).toBeVisible();
  await expect(page.getByLabel(say('Invitation code'))).toHaveValue(code);
  expect(new URL(page.url()).hash, 'the invite leaves the address bar').toBe('');
  if (shots) await screenshot(page, '01-enroll-invite');
  await at('invitation');
  await page.getByRole('button', { name: say('Continue'), exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: say('Is this you?') })).toBeVisible();
  await expect(page.getByText(say('This invitation is for {name}.', { name }))).toBeVisible();
  expect(codesFor(contact, relay).length, 'no code is sent before "Yes, this is me"').toBe(seen);
  if (shots) await screenshot(page, '02-enroll-confirm');
  await at('is this you');
  await page.getByRole('button', { name: say('Yes, this is me') }).click();
  await expect(page.getByRole('heading', { level: 1, name: say('Enter your code') })).toBeVisible();
  const sent = await nextCode(contact, seen, relay);
  await at('enter your code');
  if (wrongCodeFirst) {
    const wrong = sent === '000000' ? '111111' : '000000';
    await page.getByLabel(say('Code from the message')).fill(wrong);
    await page.getByRole('button', { name: say('Verify') }).click();
    await expect(page.getByRole('alert')).toContainText(say('That code is not right, or it expired. Check the latest message we sent, or start again for a new code.'));
    await expect(page.getByLabel(say('Code from the message')), 'what was typed stays').toHaveValue(wrong);
    await at('wrong code');
  }
  await page.getByLabel(say('Code from the message')).fill(sent);
  if (shots) await screenshot(page, '03-enroll-code');
  await page.getByRole('button', { name: say('Verify') }).click();
  // The clinic's consent to messaging, agreed to before anything else.
  await expect(page.getByRole('heading', { level: 1, name: say('Messaging with your clinic') })).toBeVisible();
  await expect(page.getByRole('region', { name: say("The clinic's consent text") })).toContainText(lang === 'es' ? 'En una emergencia, llame al 911' : 'In an emergency, call 911');
  if (shots) await screenshot(page, '25-enroll-consent');
  await at('consent');
  await page.getByRole('button', { name: say('I agree') }).click();
  await expect(page.getByRole('heading', { level: 1, name: say('Create your passkey') })).toBeVisible();
  // Plain words: no jargon, and no promise a synced passkey cannot keep.
  await expect(page.getByText(/private keys|stays on this device/i)).toHaveCount(0);
  await page.getByLabel(say('Name for this passkey')).fill('Test phone');
  if (shots) await screenshot(page, '04-enroll-passkey');
  await at('create passkey');
  await page.getByRole('button', { name: say('Create passkey') }).click();
  await expect(page.getByRole('heading', { level: 1, name: say('Save your recovery code') })).toBeVisible({ timeout: 15_000 });
  const recovery = (await page.getByLabel(say('Your recovery code'), { exact: true }).innerText()).trim().split(/\s+/).join('-');
  expect(recovery).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
  if (shots) await screenshot(page, '05-recovery-code');
  await at('recovery code');
  return recovery;
}

/** Attaches `file` (a Playwright file payload) as a person does: "Add", then "Attach a file". */
async function attachFile(page, file, lang = 'en') {
  const say = wordsIn(/** @type {'en' | 'es'} */ (lang));
  const add = page.getByRole('button', { name: say('Add'), exact: true });
  if ((await add.getAttribute('aria-expanded')) !== 'true') await add.click();
  const input = page.getByLabel(say('Attach a file'));
  await expect(input, '"Add" shows the ways to attach').toBeAttached();
  await input.setInputFiles(file);
  await expect(add, 'choosing closes them').toHaveAttribute('aria-expanded', 'false');
}

/** Types back the two groups the confirmation asks for (`at` as for enrollThroughScreens: 'recovery check', 'recovery check wrong'). */
async function confirmRecoveryCode(page, recovery, { shots = false, wrongFirst = false, at = noCheck, lang = 'en' } = {}) {
  const say = wordsIn(/** @type {'en' | 'es'} */ (lang));
  await page.getByRole('button', { name: say('I have saved it') }).click();
  await expect(page.locator('form input').first()).toBeVisible();
  await at('recovery check');
  const groups = recovery.split('-');
  const inputs = page.locator('form input');
  const labels = await page.locator('form label').allInnerTexts();
  const wanted = labels.map((l) => groups[Number(l.replace(/\D+/g, '')) - 1]);
  if (wrongFirst) {
    await inputs.nth(0).fill('ZZZZ');
    await inputs.nth(1).fill(wanted[1]);
    await page.getByRole('button', { name: say('Confirm') }).click();
    await expect(page.getByRole('alert')).toContainText(say('Those characters do not match your code. Look at your saved copy and try again, or go back to see the code.'));
    await at('recovery check wrong');
  }
  await inputs.nth(0).fill(wanted[0].toLowerCase());
  await inputs.nth(1).fill(wanted[1]);
  if (shots) await screenshot(page, '06-recovery-check');
  await page.getByRole('button', { name: say('Confirm') }).click();
  // Back where the patient was (home after enrolling, Security after a new code).
  await expect(page.getByRole('navigation', { name: say('Main') })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: say('Save your recovery code') })).toHaveCount(0);
}

/**
 * Opens a new page in `context` and signs in with `credentials` (taken with
 * `WebAuthn.getCredentials` from a closed page's authenticator: a virtual
 * authenticator lives and dies with its page). A copied credential's PRF
 * secret is not carried over, so the new page is a new device to the
 * vault: the recovery code unlocks it, once. Returns the page, unlocked.
 */
async function signInOnNewPage(context, credentials, recovery) {
  const reopened = await context.newPage();
  await reopened.goto('/');
  const again = await addAuthenticator(reopened, { prf: true });
  for (const credential of credentials) {
    await again.cdp.send('WebAuthn.addCredential', { authenticatorId: again.authenticatorId, credential });
  }
  await reopened.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await reopened.getByLabel('Recovery code').fill(recovery);
  await reopened.getByRole('button', { name: 'Unlock' }).click();
  return reopened;
}

/** The safety number on Settings → Security. */
async function safetyNumber(page) {
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  const number = page.getByTestId('safety-number');
  await expect(number).toHaveText(/\d{5}/);
  return (await number.innerText()).trim();
}

/** A free TCP port on the loopback interface (as xtask finds the shared relay's). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a relay of a spec's own, for a spec that must harm it (kill it,
 * restart it) without touching the shared one: `ward-relay serve` on a free
 * port of 127.0.0.1 with the flags xtask gives the shared relay
 * (xtask/src/relay.rs: `http://localhost:PORT` as its public origin, the
 * passkeys' relying party; `--dev`; the built client; the demo clinic's
 * hours and notice), a fresh data directory, and its clinic set up as
 * global-setup.js sets up the shared one's.
 *
 * `kill()` is kill -9 (and waits for the process to be gone); `start()`
 * starts it again on the same port with the same data directory and
 * settings (and `configure(toml)`'s, if given since); `stop()` ends it
 * (SIGTERM) and removes its data directory;
 * `log()` is what it printed. It serves the client from `staticDir` (a
 * spec may change its own copy), with the TOML settings `toml` from its
 * first start.
 */
async function ownRelay({ staticDir = path.join(__dirname, '..', '..', 'dist'), toml = '' } = {}) {
  const bin = process.env.WARD_RELAY_BIN;
  if (!bin) throw new Error('WARD_RELAY_BIN is not set: run these tests with `cargo xtask test`');
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-e2e-own-relay-'));
  const logFile = path.join(dir, 'relay.log');
  // Nothing of the shared relay's settings (or the developer's WARD_*) leaks in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WARD_')));
  const args = [
    'serve', '--listen', `127.0.0.1:${port}`, '--public-origin', url, '--data', dir,
    '--dev', '--static', staticDir,
    '--office-hours', 'Monday to Friday, 8 am to 5 pm',
    '--emergency-notice', "If this is an emergency, call 911. For a mental health crisis, call or text 988 (Riverside's demo notice).",
  ];
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  /** @type {Promise<void>} */
  let gone = Promise.resolve();

  /** One try: resolves once it says it listens, rejects if it exits first. */
  const configFile = path.join(dir, 'ward.toml');
  const startOnce = () => new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, 'a');
    const withConfig = fs.existsSync(configFile) ? [...args, '--config', configFile] : args;
    const proc = spawn(bin, withConfig, { env, stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    child = proc;
    gone = new Promise((done) => proc.once('exit', () => done()));
    let said = '';
    const stdout = /** @type {import('node:stream').Readable} */ (proc.stdout);
    stdout.on('data', (d) => {
      fs.appendFileSync(logFile, d);
      said += d;
      if (said.includes('ward-relay listening on http://')) resolve(undefined);
    });
    proc.once('exit', (code, signal) => reject(new Error(`the relay exited (${code ?? signal}) before listening; see ${logFile}`)));
  });

  const relay = {
    url, data: dir, keyFile: path.join(dir, 'e2e-clinic.key'), port,
    /** Starts it (again), on the same port with the same data; retries while the port is still held. */
    async start() {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await startOnce();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    /** kill -9: no shutdown of any kind; resolves once the process is gone. */
    async kill() {
      child?.kill('SIGKILL');
      await gone;
    },
    /** Settings (TOML, as in ward-relay.example.toml) for its next start. */
    configure(toml) {
      fs.writeFileSync(configFile, toml);
    },
    /** Ends it and removes its data directory. */
    async stop() {
      child?.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** What it printed (stdout and stderr). */
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
  };
  if (toml) relay.configure(toml);
  await relay.start();
  initClinic(relay);
  return relay;
}

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe's WCAG 2.2 A and AA violations in `target` (a page or a frame), as
 * `rule: targets` lines: empty when it passes.
 */
async function axeViolations(target) {
  await target.evaluate(axeSource);
  const result = await target.evaluate(() => /** @type {any} */ (window).axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  return result.violations.map((/** @type {any} */ v) => `${v.id}: ${v.nodes.map((/** @type {any} */ n) => n.target.join(' ')).join(', ')}`);
}

const axeSizes = [{ width: 360, height: 740 }, { width: 1280, height: 800 }];

/**
 * axe on `page` in the light and the dark scheme (the device's setting),
 * at a 360 px phone and a 1280 px desktop: zero violations. Leaves the
 * page light, at the phone's size. `label` names the screen.
 * @param {import('@playwright/test').Page} page
 * @param {string} label
 */
async function axeEveryWay(page, label) {
  for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
    for (const size of axeSizes) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize(size);
      const scheme = await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme);
      expect(scheme, `${label}: the scheme follows the device`).toBe(colorScheme);
      expect(await axeViolations(page), `${label}, ${colorScheme}, ${size.width} px`).toEqual([]);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(axeSizes[0]);
}

module.exports = {
  axeViolations, axeEveryWay,
  accountId, ageSessions, clinic, clinicAt, clinicPipe, clinicWatch, clinicWithInput, codesFor, idbRecords, initClinic, nextCode, invite,
  addAuthenticator, attachFile, syncPasskeys, totp, screenshot, enrollThroughScreens, confirmRecoveryCode, safetyNumber, signInOnNewPage,
  ownRelay, sealedTo, shared,
};
