// @ts-check
// Ward inside a clinic's website (docs/embedding.md): the example clinic
// site (`examples/clinic-site/`, served by `cargo xtask test` at
// http://127.0.0.1:PORT, another site than Ward's http://localhost:PORT)
// embeds Ward with the documented snippet; a site not in the relay's
// `frame_ancestors` cannot.
const { test, expect } = require('@playwright/test');
const s = require('../support');

const site = process.env.WARD_CLINIC_SITE;
const ward = new URL(process.env.WARD_URL ?? '').origin;

test("the example clinic site embeds Ward from another site with the documented snippet", async ({ page }) => {
  if (!site) throw new Error('WARD_CLINIC_SITE is not set: run these tests with `cargo xtask test`');
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const script = page.waitForResponse((response) => response.url() === `${ward}/embed/v1.js`);
  await page.goto(site);
  await expect(page.getByRole('heading', { level: 1, name: 'Riverside Clinic' })).toBeVisible();

  // The script, with its integrity hash checked by the browser, made the frame.
  const served = await script;
  expect(served.status()).toBe(200);
  expect(served.headers()['access-control-allow-origin']).toBe('*');
  expect(served.headers()['cross-origin-resource-policy']).toBe('cross-origin');
  const frame = page.locator('iframe[title="Ward: messages with Riverside Clinic"]');
  await expect(frame).toHaveAttribute('src', `${ward}/`);
  const allow = await frame.getAttribute('allow');
  expect(allow).toContain('publickey-credentials-get');
  expect(allow).toContain('publickey-credentials-create');

  // Ward itself, inside, working: its first screen and its link to the relay.
  const inside = page.frameLocator('iframe[title="Ward: messages with Riverside Clinic"]');
  await expect(inside.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(inside.locator('.relay-status')).toHaveText('Connected securely to Ward.');
  // It fits a 360 px phone: the frame spans the page's width.
  const box = await frame.boundingBox();
  expect(box?.width).toBeGreaterThanOrEqual(320);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  expect(problems).toEqual([]);
});

test('a site that is not in frame_ancestors cannot frame Ward', async ({ page }) => {
  // Another origin (another port of the same host), not listed.
  const stranger = 'http://127.0.0.1:47811';
  await page.route(`${stranger}/`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Not a clinic</title><h1>Not a clinic</h1>
             <iframe src="${ward}/" title="Ward"></iframe>`,
    }),
  );
  // The page's load waits for its frame: Ward's document, or, refused,
  // the browser's error page in its place.
  await page.goto(`${stranger}/`);
  const urls = page.frames().map((frame) => frame.url());
  expect(urls, 'Ward never loads in the frame').not.toContain(`${ward}/`);
  expect(urls.some((url) => url.startsWith('chrome-error://')), `the frame was refused: ${urls}`).toBe(true);
  // The listed site's frame does load Ward (the first test), so this is the
  // list at work, not a frame that never loads.
  // Ward's own response says who may frame it.
  const response = await page.request.get(`${ward}/`);
  const csp = response.headers()['content-security-policy'] ?? '';
  expect(csp).toContain(`frame-ancestors 'self' ${site}`);
  expect(csp).not.toContain(stranger);
});

/** axe's violations inside Ward's frame (WCAG 2.2 A and AA), as `rule: targets` lines. */
async function axeViolations(page) {
  const frame = page.frames().find((f) => f.url().startsWith(`${ward}/`));
  if (!frame) throw new Error('no Ward frame');
  return s.axeViolations(frame);
}

/** Every `ward:*` event the clinic's page hears, kept on its window as `heard`. */
async function listenForWard(page) {
  await page.addInitScript(() => {
    // @ts-ignore
    window.heard = [];
    document.addEventListener('DOMContentLoaded', () => {
      const container = document.querySelector('[data-ward-embed]');
      for (const type of ['ready', 'resize', 'unread', 'auth', 'attention', 'error']) {
        // @ts-ignore
        container?.addEventListener(`ward:${type}`, (event) => window.heard.push({ type, ...event.detail }));
      }
    });
  });
}

/**
 * After "Create passkey" in Ward's passkey window: the second tap some
 * authenticators need for the PRF secret, when the window asks for it.
 * The frame closes the window once it has the answer.
 */
async function passkeyWindowFinishes(popup) {
  const confirm = popup.getByRole('heading', { level: 1, name: 'One more step' });
  const outcome = await Promise.race([
    popup.waitForEvent('close').then(() => 'closed'),
    confirm.waitFor().then(() => 'confirm', () => 'closed'),
  ]);
  if (outcome === 'confirm') {
    await popup.getByRole('button', { name: 'Confirm with your passkey' }).click();
  }
}

/** What the page heard of one type, in order. */
async function heard(page, type) {
  // @ts-ignore
  return page.evaluate((t) => window.heard.filter((e) => e.type === t), type);
}

test('in the clinic site: enroll through the passkey window, talk to the page, and sign out from it', async ({ page, request }) => {
  if (!site) throw new Error('WARD_CLINIC_SITE is not set: run these tests with `cargo xtask test`');
  await page.setViewportSize({ width: 360, height: 740 });
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const frameAuthenticator = await s.addAuthenticator(page, { prf: true });
  await listenForWard(page);
  await page.goto(site);
  const frame = page.locator('iframe[title="Ward: messages with Riverside Clinic"]');
  const inside = page.frameLocator('iframe[title="Ward: messages with Riverside Clinic"]');
  await expect(inside.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect.poll(() => heard(page, 'ready')).toHaveLength(1);
  await expect.poll(async () => (await heard(page, 'auth')).map((e) => e.state)).toEqual(['signed-out']);
  // The frame takes the height Ward asks for.
  await expect.poll(async () => (await heard(page, 'resize')).length).toBeGreaterThan(0);
  const asked = (await heard(page, 'resize')).pop().height;
  expect(asked).toBeGreaterThanOrEqual(320);
  await expect(frame).toHaveCSS('height', `${asked}px`);

  // Enrollment, inside the frame, with the invite the clinic sent.
  const code = await s.invite(request, 'Noor Haddad', 'noor.frame@example.com');
  const seen = s.codesFor('noor.frame@example.com').length;
  await inside.getByRole('link', { name: 'I have an invitation' }).click();
  await inside.getByLabel('Invitation code').fill(code);
  await inside.getByRole('button', { name: 'Continue' }).click();
  await expect(inside.getByText('This invitation is for Noor Haddad.')).toBeVisible();
  await inside.getByRole('button', { name: 'Yes, this is me' }).click();
  await expect(inside.getByRole('heading', { level: 1, name: 'Enter your code' })).toBeVisible();
  await inside.getByLabel('Code from the message').fill(await s.nextCode('noor.frame@example.com', seen));
  await inside.getByRole('button', { name: 'Verify' }).click();
  await expect(inside.getByRole('region', { name: "The clinic's consent text" })).toContainText('In an emergency, call 911');
  await inside.getByRole('button', { name: 'I agree' }).click();
  await expect(inside.getByRole('heading', { level: 1, name: 'Create your passkey' })).toBeVisible();
  await inside.getByLabel('Name for this passkey').fill('Phone');

  // The passkey is made in Ward's own window (the relay refuses one made in
  // a cross-origin frame), with its own authenticator: the passkey it makes
  // is copied to the page's, as a synced passkey would be.
  const opened = page.waitForEvent('popup');
  await inside.getByRole('button', { name: 'Continue in a new window' }).click();
  const popup = await opened;
  const popupAuthenticator = await s.addAuthenticator(popup, { prf: true });
  popupAuthenticator.cdp.on('WebAuthn.credentialAdded', ({ credential }) =>
    frameAuthenticator.cdp.send('WebAuthn.addCredential', { authenticatorId: frameAuthenticator.authenticatorId, credential }));
  expect(new URL(popup.url()).origin).toBe(ward);
  await expect(popup.getByRole('heading', { level: 1, name: 'Create your passkey' })).toBeVisible();
  // The PRF secret comes back from the window with the passkey: the frame
  // asks for no passkey sign-in of its own to get it.
  /** @type {string[]} */
  const signIns = [];
  page.on('request', (r) => { if (r.url().includes('/v1/auth/passkey/')) signIns.push(r.url()); });
  const closed = popup.waitForEvent('close');
  await popup.getByRole('button', { name: 'Create passkey' }).click();
  await passkeyWindowFinishes(popup);
  await closed;

  // Back in the frame: the recovery code, then the conversations.
  await expect(inside.getByRole('heading', { level: 1, name: 'Save your recovery code' })).toBeVisible({ timeout: 15_000 });
  const recovery = (await inside.getByLabel('Your recovery code', { exact: true }).innerText()).trim().split(/\s+/).join('-');
  await s.confirmRecoveryCode(inside, recovery);
  await expect(inside.getByText('No conversations yet.')).toBeVisible();
  expect(signIns, 'the window handed back the PRF secret').toEqual([]);
  await expect.poll(async () => (await heard(page, 'auth')).map((e) => e.state)).toContain('signed-in');

  // A message, and the clinic's reply while the patient is on the list:
  // the page's own header shows the count (a number, nothing else).
  await inside.getByRole('link', { name: 'New message' }).click();
  await inside.getByRole('radio', { name: 'Question for my care team' }).check();
  await inside.getByRole('textbox', { name: 'Message' }).fill('Is the clinic open on Saturday?');
  await inside.getByRole('button', { name: 'Send' }).click();
  await expect(inside.getByRole('heading', { level: 1, name: 'Question for my care team' })).toBeVisible();
  const threadId = await inside.locator('body').evaluate(() => location.pathname.split('/').pop());
  await inside.getByRole('link', { name: 'Back to messages' }).click();
  await expect(inside.getByRole('link', { name: /Question for my care team/ })).toBeVisible();
  s.clinic('reply', /** @type {string} */ (threadId), 'Yes, 9 to 12.');
  await expect(page.locator('#unread')).toHaveText('1');
  const counts = (await heard(page, 'unread')).map((e) => e.count);
  expect(counts.at(-1)).toBe(1);
  const everything = JSON.stringify(await page.evaluate(() => /** @type {any} */ (window).heard));
  for (const secret of ['Noor', 'Saturday', '9 to 12', 'Question', threadId]) {
    expect(everything, 'the page hears no names, words or ids').not.toContain(secret);
  }

  // The page opens the thread; reading it clears the count.
  const api = page.locator('[data-ward-embed]');
  await api.evaluate((el, id) => /** @type {any} */ (el).ward.open(id), threadId);
  await expect(inside.getByText('Yes, 9 to 12.')).toBeVisible();
  await expect(page.locator('#unread')).toBeHidden();

  // Accessible inside the frame at 360 px, in light and in dark.
  expect(await axeViolations(page)).toEqual([]);
  await api.evaluate((el) => /** @type {any} */ (el).ward.setTheme({ scheme: 'dark' }));
  await expect(inside.locator('html')).toHaveAttribute('data-scheme', 'dark');
  await inside.getByRole('link', { name: 'Back to messages' }).click();
  await expect(inside.getByRole('link', { name: /Question for my care team/ })).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  await inside.getByRole('link', { name: /Question for my care team/ }).click();
  expect(await axeViolations(page)).toEqual([]);
  await api.evaluate((el) => /** @type {any} */ (el).ward.setTheme({ scheme: 'light' }));

  // The clinic's colour for the bar; one too light for white text is refused,
  // as is a language Ward does not speak yet.
  await api.evaluate((el) => /** @type {any} */ (el).ward.setTheme({ accent: '#24452f' }));
  await expect(inside.locator('.app-header')).toHaveCSS('background-color', 'rgb(36, 69, 47)');
  await api.evaluate((el) => /** @type {any} */ (el).ward.setTheme({ accent: '#ffff00' }));
  await api.evaluate((el) => /** @type {any} */ (el).ward.setLocale('fr'));
  await expect.poll(async () => (await heard(page, 'error')).map((e) => e.code)).toEqual(['theme_refused', 'locale_unsupported']);
  await expect(inside.locator('.app-header')).toHaveCSS('background-color', 'rgb(36, 69, 47)');
  // A language Ward speaks is the patient's own switch (kept on the device).
  await api.evaluate((el) => /** @type {any} */ (el).ward.setLocale('es-US'));
  await expect(inside.locator('html')).toHaveAttribute('lang', 'es');
  await expect(inside.getByRole('navigation', { name: 'Principal' })).toBeVisible();
  await api.evaluate((el) => /** @type {any} */ (el).ward.setLocale('en'));
  await expect(inside.locator('html')).toHaveAttribute('lang', 'en');
  expect((await heard(page, 'error')).map((e) => e.code), 'no more refusals').toEqual(['theme_refused', 'locale_unsupported']);

  // Another window (the page's own child frame, and a frame of another
  // site) cannot ask Ward to sign out; only the page itself can.
  const stranger = 'http://127.0.0.1:47812';
  await page.route(`${stranger}/`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<script>parent.frames[0].postMessage({ ward: 1, type: "signOut" }, "*");</script>',
  }));
  await page.evaluate((url) => {
    const child = document.createElement('iframe');
    child.srcdoc = '<script>parent.frames[0].postMessage({ ward: 1, type: "signOut" }, "*");<\/script>';
    document.body.append(child);
    const foreign = document.createElement('iframe');
    foreign.src = url;
    document.body.append(foreign);
  }, `${stranger}/`);
  await page.waitForTimeout(1_000);
  await expect(inside.getByRole('navigation', { name: 'Main' })).toBeVisible();

  // A new message while the page is hidden (another tab in front; the
  // frame's document says so): the page hears `attention`, once per rise.
  await api.evaluate((el) => /** @type {any} */ (el).ward.open());
  await expect(inside.getByRole('link', { name: /Question for my care team/ })).toBeVisible();
  expect(await heard(page, 'attention')).toEqual([]);
  const wardFrame = page.frames().find((f) => f.url().startsWith(`${ward}/`));
  await wardFrame?.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));
  s.clinic('reply', /** @type {string} */ (threadId), 'And Sunday is closed.');
  await expect(page.locator('#unread')).toHaveText('1');
  await expect.poll(async () => (await heard(page, 'attention')).length).toBe(1);

  await api.evaluate((el) => /** @type {any} */ (el).ward.signOut());
  await expect(inside.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect.poll(async () => (await heard(page, 'auth')).map((e) => e.state).at(-1)).toBe('signed-out');
  await expect(page.locator('#unread')).toBeHidden();
  const all = JSON.stringify(await page.evaluate(() => /** @type {any} */ (window).heard));
  for (const secret of ['Noor', 'Sunday', 'Saturday', 'Question', threadId]) {
    expect(all, 'the page hears no names, words or ids').not.toContain(secret);
  }
  expect(problems).toEqual([]);
});

test('in the clinic site: a passkey made on Ward\'s own site signs in inside the frame and unlocks the keys there', async ({ page, request }) => {
  if (!site) throw new Error('WARD_CLINIC_SITE is not set: run these tests with `cargo xtask test`');
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Lena Park', contact: 'lena.frame@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  const number = await s.safetyNumber(page);

  // The frame is a new device (the clinic site's storage), but the
  // passkey's PRF secret opens the vault there too: no recovery code. The
  // relay takes an assertion made in a cross-origin frame.
  await page.goto(site);
  const inside = page.frameLocator('iframe[title="Ward: messages with Riverside Clinic"]');
  await inside.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(inside.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await expect(inside.getByText('No conversations yet.')).toBeVisible();
  await expect(inside.getByRole('heading', { level: 1, name: 'Unlock on this device' })).toHaveCount(0);
  expect(await s.safetyNumber(/** @type {any} */ (inside)), 'the same keys in the frame').toBe(number);
});

test('in the clinic site: the code sign-in works in the frame, and a passkey is added through the window', async ({ page, request }) => {
  if (!site) throw new Error('WARD_CLINIC_SITE is not set: run these tests with `cargo xtask test`');
  const contact = 'omar.frame@example.com';
  // Enrolled on Ward's own site, with an authenticator app turned on there.
  const ownSite = await s.addAuthenticator(page, { prf: false });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Omar Said', contact });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await page.getByLabel('Code from the app').fill(s.totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByText('Authenticator app is on.')).toBeVisible();

  // In the clinic's page the frame is a new device (its storage is the
  // clinic site's): the code sign-in, then the recovery code once. (No
  // passkey at hand: with one, the sign-in field's autofill would offer it.)
  await ownSite.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: ownSite.authenticatorId });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(site);
  const inside = page.frameLocator('iframe[title="Ward: messages with Riverside Clinic"]');
  await inside.getByLabel('Email or phone number on file').fill(contact);
  await inside.getByRole('button', { name: 'Sign in with a code' }).click();
  const seen = s.codesFor(contact).length;
  await inside.getByRole('button', { name: 'Send me a code' }).click();
  await inside.getByLabel('Code from our message').fill(await s.nextCode(contact, seen));
  await inside.getByLabel('Code from your authenticator app').fill(s.totp(secret, 1));
  await inside.getByRole('button', { name: 'Sign in' }).click();
  await expect(inside.getByRole('heading', { level: 1, name: 'Unlock on this device' })).toBeVisible();
  await inside.getByLabel('Recovery code').fill(recovery);
  await inside.getByRole('button', { name: 'Unlock' }).click();
  await expect(inside.getByRole('navigation', { name: 'Main' })).toBeVisible({ timeout: 20_000 });

  // Security → a passkey, made in Ward's window (with PRF: it unlocks).
  await inside.getByRole('link', { name: 'Security' }).click();
  await inside.getByLabel('Name for a new passkey').fill('Clinic laptop');
  const opened = page.waitForEvent('popup');
  await inside.getByRole('button', { name: 'Add a passkey in a new window' }).click();
  const popup = await opened;
  await s.addAuthenticator(popup, { prf: true });
  const closed = popup.waitForEvent('close');
  await popup.getByRole('button', { name: 'Create passkey' }).click();
  await passkeyWindowFinishes(popup);
  await closed;
  await expect(inside.getByText('Passkey "Clinic laptop" added. It signs you in and unlocks your messages.')).toBeVisible();

  // A window the patient closes is a cancel: the frame says so and keeps
  // the name typed.
  await inside.getByLabel('Name for a new passkey').fill('Second try');
  const again = page.waitForEvent('popup');
  await inside.getByRole('button', { name: 'Add a passkey in a new window' }).click();
  const second = await again;
  await expect(second.getByRole('heading', { level: 1, name: 'Create your passkey' })).toBeVisible();
  await second.close();
  await expect(inside.getByRole('alert')).toContainText('The passkey request was cancelled');
  await expect(inside.getByLabel('Name for a new passkey')).toHaveValue('Second try');

  // Opened directly (no Ward frame opened it), the window does nothing.
  const stray = await page.context().newPage();
  await stray.goto(`${ward}/passkey-window`);
  await expect(stray.getByRole('heading', { level: 1, name: 'Nothing to do here' })).toBeVisible();
  await expect(stray.getByRole('button', { name: 'Create passkey' })).toHaveCount(0);
});
