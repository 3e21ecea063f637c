// @ts-check
// A patient's first minutes, through the screens, in real Chromium with
// virtual authenticators against the real relay: enroll from an invite,
// recovery code, sign out and in, a "new phone", the code sign-in with an
// authenticator app, lockout, auto-lock.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test('enroll with a PRF passkey, sign out and in, then a new phone without PRF uses the recovery code once', async ({ page, request, browser }) => {
  const phone = await s.addAuthenticator(page, { prf: true });
  // An enrollment that goes well asks nothing the relay refuses (a refusal
  // is an error in the browser's console).
  /** @type {string[]} */
  const refused = [];
  const onResponse = (/** @type {import('@playwright/test').Response} */ r) => {
    if (r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  };
  page.on('response', onResponse);
  let recovery = await s.enrollThroughScreens(page, request, { name: 'Sam Rivera', contact: 'sam@example.com', shots: true });
  page.off('response', onResponse);
  expect(refused).toEqual([]);
  await page.getByRole('button', { name: 'Copy code' }).click();
  await expect(page.getByText('Copied.')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(recovery);
  await s.confirmRecoveryCode(page, recovery, { shots: true, wrongFirst: true });
  await expect(page.getByText('No conversations yet.')).toBeVisible();
  await s.screenshot(page, '07-home');
  const number = await s.safetyNumber(page);
  // The passkey just created (with the screen lock) reads as used.
  await expect(page.getByText(/Last used (just now|1 minute ago)/)).toBeVisible();
  await expect(page.getByText('Not used to sign in yet')).toHaveCount(0);
  await s.screenshot(page, '08-security');

  // Keys never reach localStorage, and the vault's PRF wrap needed no device key.
  const stored = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  expect(stored).not.toContain(recovery);

  // Sign out: back to the welcome screen, site storage cleared.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeVisible();
  await s.screenshot(page, '09-welcome');

  // Sign in with the passkey: PRF opens the vault, no recovery code asked.
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  expect(await s.safetyNumber(page), 'the same keys after signing in again').toBe(number);

  // The passkey offered in the field's autofill (conditional mediation; the
  // virtual authenticator picks it without a prompt).
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  await page.getByLabel('Email or phone number on file').focus();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  expect(await s.safetyNumber(page)).toBe(number);

  // A new recovery code (after a fresh passkey check) revokes the old one.
  const old = recovery;
  await page.getByRole('button', { name: 'Make a new recovery code' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Save your recovery code' })).toBeVisible();
  recovery = (await page.getByLabel('Your recovery code', { exact: true }).innerText()).trim().split(/\s+/).join('-');
  expect(recovery).not.toBe(old);
  await s.confirmRecoveryCode(page, recovery);
  expect(await s.safetyNumber(page), 'a new recovery code keeps the keys').toBe(number);

  // A new phone: a second browser context whose authenticator has no PRF but
  // holds the same (synced) passkey. (From here on only the new phones use
  // it: a copied virtual credential's signature counter would otherwise go
  // backwards, which the relay rightly refuses as a possible clone.)
  const context = await browser.newContext();
  const newPhone = await context.newPage();
  await newPhone.goto('/');
  const second = await s.addAuthenticator(newPhone, { prf: false });
  expect(await s.syncPasskeys(phone, second)).toBe(1);
  await newPhone.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(newPhone.getByRole('heading', { level: 1, name: 'Unlock on this device' })).toBeVisible();
  await s.screenshot(newPhone, '10-enter-recovery-code');
  // The old code opens nothing any more; a typo is caught before any key work.
  const typo = recovery.slice(0, -1) + (recovery.endsWith('0') ? '1' : '0');
  await newPhone.getByLabel('Recovery code').fill(old);
  await newPhone.getByRole('button', { name: 'Unlock' }).click();
  await expect(newPhone.getByRole('alert')).toContainText('does not open your account');
  await newPhone.getByLabel('Recovery code').fill(typo);
  await newPhone.getByRole('button', { name: 'Unlock' }).click();
  await expect(newPhone.getByRole('alert')).toContainText('typo');
  await expect(newPhone.getByLabel('Recovery code'), 'what was typed stays').toHaveValue(typo);
  await newPhone.getByLabel('Recovery code').fill(recovery.toLowerCase().replaceAll('-', ' '));
  await newPhone.getByRole('button', { name: 'Unlock' }).click();
  await expect(newPhone.getByRole('navigation', { name: 'Main' })).toBeVisible({ timeout: 20_000 });
  expect(await s.safetyNumber(newPhone)).toBe(number);
  // The relay never sees the code: the app puts its use in the access log.
  await expect(newPhone.getByTestId('account-activity'))
    .toContainText('The recovery code was used to open the account · this device');

  // Next time on the new phone, its device key opens the vault: no code.
  await newPhone.goto('/');
  await newPhone.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(newPhone.getByRole('navigation', { name: 'Main' })).toBeVisible();
  expect(await s.safetyNumber(newPhone)).toBe(number);

  // Signing out forgets this device: next time the recovery code is asked again.
  await newPhone.getByRole('button', { name: 'Sign out', exact: true }).click();
  await newPhone.getByRole('button', { name: 'Yes, sign out' }).click();
  await expect(newPhone.getByRole('button', { name: 'Sign in with a passkey' })).toBeVisible();
  const devices = (await s.idbRecords(newPhone, 'devices')).length;
  expect(devices, 'no device key left after sign-out').toBe(0);
  await newPhone.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(newPhone.getByRole('heading', { level: 1, name: 'Unlock on this device' })).toBeVisible();
  await context.close();

  // A patient without an authenticator app cannot use the code sign-in, and is told whom to call.
  const noApp = await browser.newContext();
  const noAppPage = await noApp.newPage();
  await noAppPage.goto('/sign-in/code');
  await noAppPage.getByLabel('Email or phone number on file').fill('sam@example.com');
  const before = s.codesFor('sam@example.com').length;
  await noAppPage.getByRole('button', { name: 'Send me a code' }).click();
  await noAppPage.getByLabel('Code from our message').fill(await s.nextCode('sam@example.com', before));
  await noAppPage.getByLabel('Code from your authenticator app').fill('123456');
  await noAppPage.getByRole('button', { name: 'Sign in' }).click();
  await expect(noAppPage.getByRole('alert')).toContainText('no authenticator app set up');
  await expect(noAppPage.getByRole('alert')).toContainText('Call your clinic');
  await noApp.close();

});

test('"No, this is not me" sends nothing; "Yes" sends one code, and a new code replaces it', async ({ page, request }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const contact = `not-me-${Date.now()}@example.com`;
  const invite = await s.invite(request, 'Robin Vega', contact);
  const open = async () => {
    await page.goto('about:blank');
    await page.goto(`/enroll#invite=${encodeURIComponent(invite)}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Is this you?' })).toBeVisible();
    await expect(page.getByText('This invitation is for Robin Vega.')).toBeVisible();
  };
  await open();
  await expect(page.getByText(/If you say yes, we send a 6-digit code to n•+@example\.com/)).toBeVisible();
  await page.getByRole('button', { name: 'No, this is not me' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Stop here' })).toBeVisible();
  await expect(page.getByText('No code was sent and nothing was set up.')).toBeVisible();
  expect(s.codesFor(contact), 'nothing reached the contact on the invite').toEqual([]);

  // The right person, later: yes sends one code; a new one replaces it.
  await open();
  expect(s.codesFor(contact)).toEqual([]);
  await page.getByRole('button', { name: 'Yes, this is me' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Enter your code' })).toBeVisible();
  const first = await s.nextCode(contact, 0);
  await page.getByRole('button', { name: 'Send a new code' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'We sent a new code.' })).toBeVisible();
  const newest = await s.nextCode(contact, 1);
  if (first !== newest) {
    await page.getByLabel('Code from the message').fill(first);
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page.getByRole('alert')).toContainText('That code is not right, or it expired.');
  }
  await page.getByLabel('Code from the message').fill(newest);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Messaging with your clinic' })).toBeVisible();
});

test('authenticator app, code sign-in on a new phone, lockout after wrong codes', async ({ page, request, browser }) => {
  const contact = 'dana@example.com';
  const firstKey = await s.addAuthenticator(page, { prf: false });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Dana Cole', contact, wrongCodeFirst: true });
  await s.confirmRecoveryCode(page, recovery);
  const number = await s.safetyNumber(page);

  // Settings → Security: turn on the authenticator app.
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await expect(page.getByTestId('otpauth-uri')).toHaveText(/^otpauth:\/\/totp\//, { useInnerText: false });
  await s.screenshot(page, '11-authenticator-setup');
  await page.getByLabel('Code from the app').fill('000000' === s.totp(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByRole('alert')).toContainText('does not match');
  await page.getByLabel('Code from the app').fill(s.totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByText('Authenticator app is on.')).toBeVisible();

  // Rename the passkey.
  await page.getByRole('button', { name: 'Rename Test phone' }).click();
  await page.getByLabel('New name').fill('Kitchen tablet');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Renamed to "Kitchen tablet".')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Rename Kitchen tablet' })).toBeVisible();

  // Add a passkey: not twice on one authenticator; from another one (with
  // PRF) it also unlocks the vault, so signing in with it needs no code.
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('Give the new passkey a name');
  await page.getByLabel('Name for a new passkey').fill('Same phone again');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('This device already has a passkey for your account');
  await firstKey.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: firstKey.authenticatorId });
  await s.addAuthenticator(page, { prf: true });
  await page.getByLabel('Name for a new passkey').fill('Security key');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByText('Passkey "Security key" added. It signs you in and unlocks your messages.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Rename Security key' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  expect(await s.safetyNumber(page)).toBe(number);

  // A new phone with no passkey at all: codes, then the recovery code.
  const context = await browser.newContext();
  const newPhone = await context.newPage();
  await newPhone.goto('/');
  await newPhone.getByLabel('Email or phone number on file').fill(contact);
  await newPhone.getByRole('button', { name: 'Sign in with a code' }).click();
  await expect(newPhone.getByRole('heading', { level: 1, name: 'Sign in with a code' })).toBeVisible();
  await expect(newPhone.getByLabel('Email or phone number on file')).toHaveValue(contact);
  const seen = s.codesFor(contact).length;
  await newPhone.getByRole('button', { name: 'Send me a code' }).click();
  await expect(newPhone.getByRole('heading', { level: 1, name: 'Enter both codes' })).toBeVisible();
  await newPhone.getByLabel('Code from our message').fill(await s.nextCode(contact, seen));
  // The step after the one used to turn the app on (each step is single use).
  await newPhone.getByLabel('Code from your authenticator app').fill(s.totp(secret, 1));
  await s.screenshot(newPhone, '12-code-sign-in');
  await newPhone.getByRole('button', { name: 'Sign in' }).click();
  await expect(newPhone.getByRole('heading', { level: 1, name: 'Unlock on this device' })).toBeVisible();
  await newPhone.getByLabel('Recovery code').fill(recovery);
  await newPhone.getByRole('button', { name: 'Unlock' }).click();
  await expect(newPhone.getByRole('navigation', { name: 'Main' })).toBeVisible({ timeout: 20_000 });
  expect(await s.safetyNumber(newPhone)).toBe(number);

  // The devices list shows both, and the new phone signs the first out.
  await newPhone.getByRole('button', { name: /^Sign out .+ on / }).click();
  await expect(newPhone.getByText('That device is signed out.')).toBeVisible();
  await expect(newPhone.getByRole('button', { name: /^Sign out .+ on / })).toHaveCount(0);
  await context.close();
  // The first device learns at its next request, locks, and keeps what was typed.
  await page.getByRole('button', { name: 'Rename Kitchen tablet' }).click();
  await page.getByLabel('New name').fill('Typed before the sign-out');
  await page.getByRole('button', { name: 'Save' }).click();
  // Said on the lock screen (and by the form's error, under the lock).
  await expect(page.getByRole('paragraph').filter({ hasText: 'You were signed out' })).toBeVisible();
  await page.getByRole('button', { name: 'Unlock with your passkey' }).click();
  await expect(page.getByLabel('New name')).toHaveValue('Typed before the sign-out');

  // Turning the authenticator app off needs a recent sign-in: with the
  // session an hour old, the passkey is asked again first (step-up).
  await s.safetyNumber(page);
  expect(s.ageSessions(contact)).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Turn off the authenticator app' }).click();
  await expect(page.getByText('Authenticator app is off.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Set up an authenticator app' })).toBeVisible();

  // Wrong codes: each emailed code takes five guesses, counted before they
  // are compared; then it is dead and a new one is needed. New codes are
  // capped per contact (5 an hour), and the refusal points at the passkey,
  // which no flood can block.
  const third = await browser.newContext();
  const attacker = await third.newPage();
  await attacker.goto('/sign-in/code');
  await attacker.getByLabel('Email or phone number on file').fill(contact);
  await attacker.getByRole('button', { name: 'Send me a code' }).click();
  await expect(attacker.getByRole('heading', { level: 1, name: 'Enter both codes' })).toBeVisible();
  for (let i = 0; i < 6; i += 1) {
    await attacker.getByLabel('Code from our message').fill(String(100000 + i));
    await attacker.getByLabel('Code from your authenticator app').fill('123456');
    await attacker.getByRole('button', { name: 'Sign in' }).click();
    await expect(attacker.getByRole('alert')).toContainText('not right');
  }
  await expect(attacker.getByRole('alert')).toContainText('start again for a new code');
  await expect(attacker.getByLabel('Code from our message'), 'what was typed stays').toHaveValue('100005');
  const tooMany = /Too many codes were sent\. Wait \d+ minutes?, or sign in with your passkey\./;
  for (let i = 0; i < 6; i += 1) {
    await attacker.getByRole('button', { name: 'Send a new code' }).click();
    await expect(attacker.getByText('Checking…')).toBeHidden();
    if (tooMany.test((await attacker.getByRole('alert').allInnerTexts()).join(' '))) break;
  }
  await expect(attacker.getByRole('alert')).toContainText(tooMany);
  await s.screenshot(attacker, '13-locked-out');
  await third.close();
});

test('auto-lock drops the keys after the idle time; the passkey unlocks and the draft is still there', async ({ page, request }) => {
  await page.clock.install();
  await s.addAuthenticator(page, { prf: true });
  const first = await s.enrollThroughScreens(page, request, { name: 'Lee Park', contact: 'lee@example.com' });
  // Closed before confirming the code: the next unlock replaces it, and says why.
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByText('Your last recovery code was never confirmed')).toBeVisible();
  const recovery = (await page.getByLabel('Your recovery code', { exact: true }).innerText()).trim().split(/\s+/).join('-');
  expect(recovery).not.toBe(first);
  await s.confirmRecoveryCode(page, recovery);
  await s.safetyNumber(page);
  await page.getByLabel('Lock Ward after').selectOption('1');
  await expect(page.getByText('Ward now locks after 1 minute without use.')).toBeVisible();

  // Something half-typed when the patient walks away.
  await page.getByRole('button', { name: 'Rename Test phone' }).click();
  await page.getByLabel('New name').fill('Half-typed name');
  await page.clock.fastForward('01:10');
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeVisible();
  await expect(page.getByLabel('New name')).toBeHidden();
  await expect(page.getByTestId('safety-number')).toBeHidden();
  await s.screenshot(page, '14-locked');
  // Without the passkey at hand, codes unlock too (shown in place, no way
  // off the lock screen).
  await page.getByRole('button', { name: 'No passkey at hand? Unlock with codes' }).click();
  await expect(page.getByLabel('Email or phone number on file')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to sign in' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Hide the code sign-in' }).click();

  await page.getByRole('button', { name: 'Unlock with your passkey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeHidden();
  await expect(page.getByLabel('New name')).toHaveValue('Half-typed name');
  await expect(page.getByTestId('safety-number')).toBeVisible();
});

test('errors a patient can hit say what happened and what to do', async ({ page, context }) => {
  // A mistyped invitation.
  await page.goto('/enroll');
  await page.getByLabel('Invitation code').fill('NOT-A-REAL-INVITE');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('That invitation code is not valid');
  await expect(page.getByLabel('Invitation code')).toHaveValue('NOT-A-REAL-INVITE');

  // No passkey for Ward on this device.
  await page.goto('/');
  await s.addAuthenticator(page, { prf: true });
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('there is no passkey for Ward on this device');

  // Offline.
  await context.setOffline(true);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('Ward cannot reach the internet right now');
  await context.setOffline(false);
});

test('lock now hides the messages until the passkey unlocks; sign-out asks first and says what it removes', async ({ page, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Lena Park', contact: 'lena.park@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  const nav = page.getByRole('navigation', { name: 'Main' });
  // Every control in the bar is a 44 px target, and the bar fits 360 px.
  for (const control of await nav.locator('a, button').all()) {
    const box = await control.boundingBox();
    expect(box && box.height >= 44 && box.width >= 44, `${await control.innerText()}: ${JSON.stringify(box)}`).toBe(true);
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);

  await nav.getByRole('button', { name: 'Lock now' }).click();
  await expect(page.getByRole('heading', { name: 'Ward is locked' })).toBeVisible();
  await expect(page.getByText('You locked Ward. Your messages are hidden on this device until you unlock it.')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Ward is locked' })).toBeFocused();
  await expect(page.getByRole('heading', { name: 'Messages with your care team' })).toBeHidden();
  await page.getByRole('button', { name: 'Unlock with your passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Messages with your care team' })).toBeVisible();

  // Sign out asks, says what goes, and "Stay signed in" changes nothing.
  await nav.getByRole('button', { name: 'Sign out', exact: true }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Sign out of Ward on this device?' });
  await expect(confirm).toContainText("removes Ward's keys, the messages it keeps, and any unsent text from this device");
  await expect(confirm.getByRole('button', { name: 'Stay signed in' })).toBeFocused();
  await s.screenshot(page, '28-sign-out-confirm');
  await confirm.getByRole('button', { name: 'Stay signed in' }).click();
  await expect(confirm).toBeHidden();
  await expect(nav.getByRole('button', { name: 'Sign out', exact: true })).toBeFocused();
  // Escape closes the question too.
  await nav.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(confirm).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(confirm).toBeHidden();
  await nav.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeVisible();
});
