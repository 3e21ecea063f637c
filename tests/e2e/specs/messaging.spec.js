// @ts-check
// The patient and the clinic talking, every word encrypted in the browser:
// a new thread with the emergency check, the clinic agent reading and
// replying with quick replies (a real `ward-clinic` process), live
// delivery, read receipts, and no plaintext in the relay's database.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const s = require('../support');

const data = /** @type {string} */ (process.env.WARD_DATA_DIR);

test('a patient starts a thread, the clinic replies with quick replies, the patient answers; history survives sign-in', async ({ page, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Robin Diaz', contact: 'robin@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await expect(page.getByText('No conversations yet.')).toBeVisible();

  // A new thread: category, the emergency notice, and the on-device red-flag check.
  await page.getByRole('link', { name: 'New message' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New message' })).toBeVisible();
  // The clinic's own notice, from GET /v1/clinic (set by xtask for the demo).
  await expect(page.getByText("call or text 988 (Riverside's demo notice)")).toBeVisible();
  await expect(page.getByText('Riverside Clinic reads messages during office hours (Monday to Friday, 8 am to 5 pm) and usually replies within one business day.')).toBeVisible();
  const composer = page.getByRole('textbox', { name: 'Message' });
  // What the message is about is asked first, and the text is kept.
  const first = 'I have had chest pain since last night. Can I take ibuprofen with my new blood pressure prescription?';
  await composer.fill(first);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByText('Choose what your message is about first.')).toBeVisible();
  await expect(composer, 'the text is kept').toHaveValue(first);
  await page.getByRole('radio', { name: 'Question for my care team' }).check();
  // Then the on-device red-flag check: the notice, once, as an alert.
  await page.getByRole('button', { name: 'Send' }).click();
  const urgent = page.getByRole('alert').filter({ hasText: 'If this is an emergency, call 911.' });
  await expect(urgent).toBeVisible();
  await expect(page.getByText('If this is an emergency, call 911.')).toHaveCount(1);
  await expect(page.getByText('Choose what your message is about first.')).toBeHidden();
  // Its numbers are a tap away: dialled, and 988 texted too.
  await expect(urgent.getByRole('link', { name: 'Call 911' })).toHaveAttribute('href', 'tel:911');
  await expect(urgent.getByRole('link', { name: 'Call 988' })).toHaveAttribute('href', 'tel:988');
  await expect(urgent.getByRole('link', { name: 'Text 988' })).toHaveAttribute('href', 'sms:988');
  await expect(urgent.getByRole('link')).toHaveCount(3);
  const callBox = await urgent.getByRole('link', { name: 'Call 911' }).boundingBox();
  expect(callBox && callBox.height >= 44 && callBox.width >= 44, 'a 44 px target').toBe(true);
  await expect(composer, 'not sent: the warning comes first').toHaveValue(first);
  await s.screenshot(page, '15-new-message-red-flag');
  // After the warning, Send sends.
  await page.getByRole('button', { name: 'Send' }).click();

  // The thread: the message, sealed and stored.
  await expect(page.getByRole('heading', { level: 1, name: 'Question for my care team' })).toBeVisible();
  const mine = page.getByRole('listitem').filter({ hasText: first });
  await expect(mine).toContainText('You');
  await expect(mine).toContainText('Sent');
  const threadId = new URL(page.url()).pathname.split('/').pop();
  expect(threadId).toBeTruthy();

  // The clinic reads it (decrypting with its own keys): the patient sees "Read" live.
  const read = s.clinic('read', /** @type {string} */ (threadId));
  expect(read).toContain(first);
  await expect(mine).toContainText(/Read \d/);

  // The patient typing shows live on the clinic's side (`clinic watch`).
  const watch = s.clinicWatch(/** @type {string} */ (threadId), 30);
  await watch.ready;
  await page.getByRole('textbox', { name: 'Message' }).pressSequentially('Also');
  await expect.poll(watch.output).toContain(`Robin Diaz is typing in ${threadId}`);
  watch.stop();
  await page.getByRole('textbox', { name: 'Message' }).fill('');

  // The clinic typing shows live.
  s.clinic('typing', /** @type {string} */ (threadId));
  await expect(page.getByText('Riverside Clinic is typing…')).toBeVisible();

  // The clinic replies with quick replies: it arrives live and is announced.
  s.clinic('reply', /** @type {string} */ (threadId), 'Ibuprofen can raise blood pressure. Shall we call you?',
    '--quick-reply', 'Call me back', '--quick-reply', 'I will book a visit');
  const reply = page.getByRole('listitem').filter({ hasText: 'Ibuprofen can raise blood pressure.' });
  await expect(reply).toContainText('Riverside Clinic · care team');
  await expect(page.getByTestId('announcer')).toHaveText('New message from Riverside Clinic · care team.');
  const quick = page.getByRole('group', { name: 'Quick replies' });
  await expect(quick.getByRole('button')).toHaveText(['Call me back', 'I will book a visit']);
  await s.screenshot(page, '16-thread');
  await quick.getByRole('button', { name: 'Call me back' }).click();
  await expect(page.getByRole('group', { name: 'Quick replies' }), 'the offer collapses once answered').toHaveCount(0);
  await expect(page.getByRole('listitem').filter({ hasText: 'Call me back' })).toContainText('Sent');
  expect(s.clinic('read', /** @type {string} */ (threadId))).toContain('Call me back');
  // The other side of the read receipts: the clinic sees how far the patient read.
  await expect.poll(() => s.clinic('read', /** @type {string} */ (threadId)))
    .toMatch(/read by Robin Diaz up to #2 at \d\d:\d\d UTC/);

  // Search runs on the device: results from both sides, and the query never leaves.
  const sentUrls = [];
  page.on('request', (r) => sentUrls.push(r.url() + (r.postData() ?? '')));
  await page.getByRole('link', { name: 'Messages', exact: true }).click();
  await page.getByRole('link', { name: 'Search' }).click();
  await page.getByLabel('Search for').fill('IBUPROFEN');
  await expect(page.getByText('2 messages match.')).toBeVisible();
  await expect(page.getByRole('list', { name: 'Results' }).getByRole('link')).toHaveCount(2);
  expect(sentUrls.filter((u) => u.toLowerCase().includes('ibuprofen'))).toEqual([]);

  // A half-written reply survives leaving the thread and coming back.
  await page.getByRole('list', { name: 'Results' }).getByRole('link').first().click();
  await page.getByRole('textbox', { name: 'Message' }).fill('A draft for later');
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  await page.getByRole('link', { name: 'Messages', exact: true }).click();
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('A draft for later');
  await page.getByRole('textbox', { name: 'Message' }).fill('');

  // The threads list: the category and the time, never the text.
  await page.getByRole('link', { name: 'Messages', exact: true }).click();
  const row = page.getByRole('list', { name: 'Conversations' }).getByRole('link');
  await expect(row).toContainText('Question for my care team');
  await expect(row).not.toContainText('ibuprofen');

  // Sign out and in: the history opens again with the same keys.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  await expect(page.getByText(first)).toBeVisible();
  await expect(page.getByText('Ibuprofen can raise blood pressure.')).toBeVisible();

  // The relay's database holds none of it in the clear.
  const stored = ['ward.sqlite3', 'ward.sqlite3-wal']
    .map((f) => path.join(data, f))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString('latin1'))
    .join('');
  expect(stored.length).toBeGreaterThan(0);
  for (const text of [first, 'ibuprofen', 'Ibuprofen can raise', 'Call me back', 'chest pain']) {
    expect(stored.includes(text), `"${text}" is not in the relay's database`).toBe(false);
  }
});

/** The outbox records IndexedDB holds on this page's origin. */
const outbox = (page) => s.idbRecords(page, 'outbox');

test('offline sends wait in the outbox (sealed), go once when back online, survive a closed tab, and wait out a busy relay', async ({ page, context, request }) => {
  const phone = await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Kai Moreno', contact: 'kai@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Appointment' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Can I move my visit to Friday?');
  // With a mouse (a fine pointer), Enter sends.
  expect(await page.evaluate(() => matchMedia('(pointer: fine)').matches)).toBe(true);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(page.getByRole('listitem').filter({ hasText: 'Can I move my visit to Friday?' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // Offline: the message shows at once and waits, sealed, on the device.
  await context.setOffline(true);
  const offline = 'Written on the train without signal';
  await page.getByRole('textbox', { name: 'Message' }).fill(offline);
  await page.getByRole('button', { name: 'Send' }).click();
  const waiting = page.getByRole('listitem').filter({ hasText: offline });
  await expect(waiting).toContainText('Waiting for a connection');
  const queued = await outbox(page);
  expect(queued).toHaveLength(1);
  expect(Buffer.from(queued[0].envelope).toString('latin1')).not.toContain('train');

  // Back online: sent once, in order, and the outbox is empty.
  await context.setOffline(false);
  await expect(waiting).toContainText('Sent');
  expect(await outbox(page)).toHaveLength(0);
  let read = s.clinic('read', threadId);
  expect(read.split(offline).length - 1, 'delivered exactly once').toBe(1);
  expect(read.indexOf('Friday')).toBeLessThan(read.indexOf(offline));

  // A tab closed while its message waits: reopening sends it, once.
  await context.setOffline(true);
  const closing = 'Typed just before closing the tab';
  await page.getByRole('textbox', { name: 'Message' }).fill(closing);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: closing })).toContainText('Waiting for a connection');
  // (A virtual authenticator lives with its page: carry the passkey over.)
  const { credentials } = await phone.cdp.send('WebAuthn.getCredentials', { authenticatorId: phone.authenticatorId });
  await page.close();
  await context.setOffline(false);
  const reopened = await s.signInOnNewPage(context, credentials, recovery);
  await reopened.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  await expect(reopened.getByRole('listitem').filter({ hasText: closing })).toContainText('Sent');
  expect(await outbox(reopened)).toHaveLength(0);
  read = s.clinic('read', threadId);
  expect(read.split(closing).length - 1, 'delivered exactly once').toBe(1);

  // The relay says "not now" (its database restarting: 503
  // storage_unavailable, the answer tests/faults.rs gets from a real
  // PostgreSQL restart). The message waits, sealed, and goes by itself
  // after the relay's Retry-After: no "Not sent", no Retry to press.
  let refusals = 0;
  await reopened.route('**/v1/threads/*/messages', async (route) => {
    if (route.request().method() === 'POST' && refusals === 0) {
      refusals += 1;
      await route.fulfill({
        status: 503,
        headers: { 'retry-after': '1' },
        contentType: 'application/json',
        body: JSON.stringify({ error: {
          code: 'storage_unavailable',
          message: 'Ward cannot reach its storage for a moment. Nothing was changed; try again in a few seconds.',
          retry_after_seconds: 1,
        } }),
      });
    } else {
      await route.continue();
    }
  });
  const busy = 'Written while the server restarts';
  await reopened.getByRole('textbox', { name: 'Message' }).fill(busy);
  await reopened.getByRole('button', { name: 'Send' }).click();
  const held = reopened.getByRole('listitem').filter({ hasText: busy });
  await expect(held).toContainText("Ward's server is busy for a moment");
  await expect(held).toContainText('Sent');
  expect(refusals).toBe(1);
  await expect(held.getByRole('button', { name: 'Retry' })).toHaveCount(0);
  expect(await outbox(reopened)).toHaveLength(0);
  read = s.clinic('read', threadId);
  expect(read.split(busy).length - 1, 'delivered exactly once').toBe(1);
});

// Last in this file: it changes the e2e clinic's keys for every later test.
test('a changed clinic key holds sending until the patient compares the new safety number', async ({ page, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Lou Chen', contact: 'lou@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Billing' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Question about my bill');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Question about my bill' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  const number = s.clinic('new-keys').trim();
  expect(number).toMatch(/^(\d{5} ){5}\d{5}$/);
  const held = 'Is the invoice for March correct?';
  await page.getByRole('textbox', { name: 'Message' }).fill(held);
  await page.getByRole('button', { name: 'Send' }).click();
  const message = page.getByRole('listitem').filter({ hasText: held });
  await expect(message).toContainText('security keys changed');
  await expect(page.getByText('Riverside Clinic · care team: security keys changed.')).toBeVisible();
  await expect(page.getByTestId('new-safety-number')).toHaveText(number);
  await s.screenshot(page, '17-key-changed');

  await page.getByRole('button', { name: 'It matches: continue' }).click();
  await expect(page.getByTestId('new-safety-number')).toHaveCount(0);
  await message.getByRole('button', { name: 'Retry' }).click();
  await expect(message).toContainText('Sent');
  // The clinic, with its new keys, answers in the new epoch; the patient reads it.
  s.clinic('reply', threadId, 'Yes, the March invoice is correct.');
  await expect(page.getByText('Yes, the March invoice is correct.')).toBeVisible();
});
