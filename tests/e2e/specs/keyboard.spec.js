// @ts-check
// Issue 19: Ward with the keyboard alone (WCAG 2.1.1, 2.4.3, 2.4.7, 2.4.11)
// and what a screen reader is told (4.1.2, 4.1.3, 3.3.1). A patient enrolls,
// sends a message, attaches a file, opens settings, locks and unlocks, and
// signs out using only keys: Tab, Shift+Tab, Enter, Space, Escape, the
// arrows, and typing into the focused field. Nothing is clicked or filled.
// At every focus stop the focus is seen (:focus-visible draws an outline or
// a shadow) and not hidden (neither the app's header nor the composer
// covers it, and the element itself is what sits at its centre). A new
// screen starts on its heading; a dialog that closes gives focus back to
// the button that opened it. Along the way: the messages are a polite log
// (the typing line is in no live region), an upload's progress is a status,
// a failed send an alert, and each form error is tied to its field.
const { test, expect } = require('@playwright/test');
const s = require('../support');

/** The focused element, in a few words, for a failure message. */
async function focusedWords(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return 'nothing';
    const text = (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${text}"`;
  });
}

/**
 * Checks the focused element is seen: it matches :focus-visible, which draws
 * an outline or a shadow on it (on its label, for a file input hidden behind
 * one); the app's header or the composer does not cover its box whole
 * (WCAG 2.4.11); and at its centre is the element itself (or its label).
 * The page itself (focus gone past the last control) is skipped.
 */
async function expectFocusSeen(page) {
  const problem = await page.evaluate(() => {
    const el = /** @type {HTMLElement | null} */ (document.activeElement);
    if (!el || el === document.body || el === document.documentElement) return null;
    const words = `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${(el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
    if (!el.matches(':focus-visible')) return `${words} is focused but not :focus-visible`;
    // A file input is visually hidden: its focus ring is drawn on its label.
    const labels = /** @type {HTMLInputElement} */ (el).labels ? [.../** @type {HTMLInputElement} */ (el).labels] : [];
    const shown = el.matches('input[type=file]') && labels.length ? labels[0] : el;
    const style = getComputedStyle(shown);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    if (!outline && style.boxShadow === 'none') return `${words} has no focus outline or shadow`;
    const box = shown.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return `${words} has no box on screen`;
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    const mine = (/** @type {Element} */ e) => e === hit || e.contains(hit);
    if (hit && (mine(el) || mine(shown) || labels.some(mine))) return null;
    // Something else is on top: the sticky parts would hide it whole.
    for (const selector of ['.app-header', '.thread-head', '.composer']) {
      for (const cover of document.querySelectorAll(selector)) {
        if (cover.contains(el)) continue;
        const c = cover.getBoundingClientRect();
        if (box.left >= c.left && box.right <= c.right && box.top >= c.top && box.bottom <= c.bottom) {
          return `${words} is covered by ${selector}`;
        }
      }
    }
    return `${words}: at its centre (${Math.round(x)}, ${Math.round(y)}) is ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'}`;
  });
  expect(problem, 'the focused element is seen').toBeNull();
}

/**
 * Presses Tab (Shift+Tab with `back`) until `target` has focus, checking
 * every stop on the way with expectFocusSeen; fails after `max` presses.
 * `target` is a locator, or [role, name] (the name matched exactly).
 * @param {import('@playwright/test').Page} page
 * @param {import('@playwright/test').Locator | [any, string]} target
 */
async function tabTo(page, target, { back = false, max = 40 } = {}) {
  const wanted = Array.isArray(target) ? page.getByRole(target[0], { name: target[1], exact: true }) : target;
  const key = back ? 'Shift+Tab' : 'Tab';
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press(key);
    await expectFocusSeen(page);
    if (await wanted.evaluateAll((els) => els.includes(/** @type {Element} */ (document.activeElement)))) return;
  }
  throw new Error(`${max} presses of ${key} never reached ${wanted}; focus is on ${await focusedWords(page)}`);
}

/** Enter on what has focus (a button, a link, a form's field). */
async function press(page, key = 'Enter') {
  await page.keyboard.press(key);
}

/** Replaces what the focused field holds with `text`. */
async function retype(page, text) {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  if (text) await page.keyboard.type(text);
}

/** The screen's heading has focus (a new screen is read from its top). */
async function expectOnHeading(page, name) {
  await expect(page.getByRole('heading', { level: 1, name, exact: true }), `focus starts on "${name}"`).toBeFocused();
}

/**
 * `field` is marked invalid and described by the error shown (the alert),
 * whose text matches `text`.
 * @param {import('@playwright/test').Locator} field
 */
async function expectTiedError(page, field, text) {
  const words = typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text;
  await expect(page.getByRole('alert').filter({ hasText: words })).toBeVisible();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  const id = await field.getAttribute('aria-describedby');
  expect(id, 'the field names its error').toBeTruthy();
  const note = page.locator(`#${id}`);
  await expect(note, 'aria-describedby is the error shown').toHaveText(words);
  await expect(note).toHaveRole('alert');
  await expect(field).toHaveAccessibleDescription(words);
}

/** `field` is not marked invalid and names no error. */
async function expectNotFlagged(field) {
  await expect(field).not.toHaveAttribute('aria-invalid', 'true');
  await expect(field).not.toHaveAttribute('aria-describedby', /./);
}

test('a patient enrolls, writes, attaches, locks and signs out with the keyboard alone', async ({ page }) => {
  test.setTimeout(180_000);
  const authenticator = await s.addAuthenticator(page, { prf: true });
  const name = 'Kim Tabber';
  const contact = 'kim.keyboard@example.com';
  const code = await s.invite(undefined, name, contact);
  const seen = s.codesFor(contact).length;

  // Enrolling: the invite link, then one step after another.
  await page.goto(`/enroll#invite=${encodeURIComponent(code)}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Set up your account' })).toBeVisible();
  await tabTo(page, ['link', 'Skip to content']);
  await tabTo(page, ['textbox', 'Invitation code']);
  await expect(page.getByRole('textbox', { name: 'Invitation code' })).toHaveValue(code);
  await tabTo(page, ['button', 'Continue']);
  await press(page);
  await expectOnHeading(page, 'Is this you?');
  await tabTo(page, ['button', 'Yes, this is me']);
  await press(page);
  await expectOnHeading(page, 'Enter your code');
  const sent = await s.nextCode(contact, seen);

  // A wrong code: the error is announced and tied to the field.
  const codeField = page.getByRole('textbox', { name: 'Code from the message' });
  await expectNotFlagged(codeField);
  await tabTo(page, ['textbox', 'Code from the message']);
  await page.keyboard.type(sent === '000000' ? '111111' : '000000');
  await press(page);
  await expectTiedError(page, codeField, 'That code is not right, or it expired.');
  await expect(codeField, 'focus stays in the field').toBeFocused();
  await retype(page, sent);
  await press(page);

  await expectOnHeading(page, 'Messaging with your clinic');
  await tabTo(page, ['region', "The clinic's consent text"]);
  await tabTo(page, ['button', 'I agree']);
  await press(page);
  await expectOnHeading(page, 'Create your passkey');
  await tabTo(page, ['textbox', 'Name for this passkey']);
  await retype(page, 'Keyboard laptop');
  await tabTo(page, ['button', 'Create passkey']);
  await press(page);

  // The recovery code, and the check that it was saved.
  await expect(page.getByRole('heading', { level: 1, name: 'Save your recovery code' })).toBeFocused({ timeout: 15_000 });
  const recovery = (await page.getByLabel('Your recovery code', { exact: true }).innerText()).trim().split(/\s+/);
  await tabTo(page, ['button', 'Copy code']);
  await tabTo(page, ['button', 'I have saved it']);
  await press(page);
  await expectOnHeading(page, 'Save your recovery code');
  const labels = await page.locator('form label').allInnerTexts();
  const wanted = labels.map((l) => recovery[Number(l.replace('Group ', '')) - 1]);
  const first = page.getByRole('textbox', { name: labels[0], exact: true });
  const second = page.getByRole('textbox', { name: labels[1], exact: true });
  await tabTo(page, first);
  await page.keyboard.type('ZZZZ');
  await tabTo(page, second);
  await page.keyboard.type(wanted[1]);
  await press(page);
  const mismatch = /^Those characters do not match your code\./;
  await expectTiedError(page, first, mismatch);
  await expectTiedError(page, second, mismatch);
  await tabTo(page, first, { back: true });
  await retype(page, wanted[0].toLowerCase());
  await press(page);

  // Home, read from its heading.
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await expectOnHeading(page, 'Messages with your care team');

  // A new conversation: the category with the arrow keys, Enter sends.
  await tabTo(page, ['link', 'New message']);
  await press(page);
  await expectOnHeading(page, 'New message');
  await tabTo(page, ['radio', 'Appointment']);
  await press(page, 'Space');
  await expect(page.getByRole('radio', { name: 'Appointment' })).toBeChecked();
  await press(page, 'ArrowDown');
  await expect(page.getByRole('radio', { name: 'Prescription refill' })).toBeFocused();
  await expect(page.getByRole('radio', { name: 'Prescription refill' })).toBeChecked();
  await press(page, 'ArrowUp');
  await expect(page.getByRole('radio', { name: 'Appointment' })).toBeChecked();
  await tabTo(page, ['textbox', 'Message']);
  await page.keyboard.type('Can I come in on Thursday morning?');
  await press(page);

  // The conversation: its messages are a polite log.
  await expectOnHeading(page, 'Appointment');
  const log = page.getByRole('log', { name: 'Messages' });
  const mine = log.getByRole('listitem').filter({ hasText: 'Thursday morning' });
  await expect(mine).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  expect(await log.evaluate((el) => el.getAttribute('aria-live') ?? 'polite'), 'a log is polite').toBe('polite');
  await expect(log, 'only new rows are read out, not changed delivery lines').toHaveAttribute('aria-relevant', 'additions');
  await expect(log, 'the first load is not read out; what comes after is').not.toHaveAttribute('aria-busy', 'true');

  // The care team types: shown, but in no live region (not read out).
  s.clinic('typing', threadId);
  const typing = page.getByText('Riverside Clinic is typing…');
  await expect(typing).toBeVisible();
  const live = await typing.evaluate((el) => el.closest('[aria-live]:not([aria-live="off"]), [role=log], [role=status], [role=alert], [role=marquee], [role=timer]')?.outerHTML.slice(0, 80) ?? null);
  expect(live, 'the typing line is in no live region').toBeNull();

  // Their reply arrives inside the log (read out as it is added).
  s.clinic('reply', threadId, 'Thursday at 9:30 works.');
  await expect(log.getByRole('listitem').filter({ hasText: 'Thursday at 9:30 works.' })).toBeVisible();

  // "Add": the menu takes focus, Escape gives it back; then a file.
  const add = page.getByRole('button', { name: 'Add', exact: true });
  const attach = page.getByLabel('Attach a file');
  await tabTo(page, add);
  await press(page);
  await expect(add).toHaveAttribute('aria-expanded', 'true');
  await expect(attach, 'focus goes into the menu').toBeFocused();
  await expectFocusSeen(page);
  await press(page, 'Escape');
  await expect(add).toHaveAttribute('aria-expanded', 'false');
  await expect(add, 'Escape gives focus back to "Add"').toBeFocused();
  await press(page);
  await expect(attach).toBeFocused();
  // The upload waits at the gate, so its progress can be read.
  /** @type {() => void} */
  let open = () => {};
  const gate = new Promise((resolve) => { open = () => resolve(undefined); });
  await page.route('**/v1/uploads/*/parts/*', async (route) => {
    await gate;
    await route.continue();
  });
  const chooser = page.waitForEvent('filechooser');
  await press(page, 'Space');
  await (await chooser).setFiles({ name: 'lab-results.pdf', mimeType: 'application/pdf', buffer: Buffer.from(`%PDF-1.4\n${'lab results\n'.repeat(2000)}`) });
  await expect(add, 'choosing gives focus back to "Add"').toBeFocused();
  await expect(page.getByRole('group', { name: 'Attached file' })).toContainText('lab-results.pdf');
  await tabTo(page, ['textbox', 'Message']);
  await page.keyboard.type('Here are my lab results');
  await press(page);
  const withFile = log.getByRole('listitem').filter({ hasText: 'Here are my lab results' });
  await expect(withFile.getByRole('progressbar', { name: 'Upload of lab-results.pdf' })).toBeVisible();
  await expect(withFile.getByRole('status'), 'the upload says how far it is, politely').toContainText(/Preparing|uploading|Waiting/);
  open();
  await expect(withFile).toContainText('Sent', { timeout: 30_000 });
  await expect(withFile.getByRole('progressbar')).toHaveCount(0);
  await page.unroute('**/v1/uploads/*/parts/*');

  // A send the relay refuses: said at once (an alert); Retry by keyboard.
  const refuse = (/** @type {URL} */ url) => url.pathname.endsWith(`/v1/threads/${threadId}/messages`);
  await page.route(refuse, (route) => (route.request().method() === 'POST'
    ? route.fulfill({ status: 400, contentType: 'text/plain', body: 'no' })
    : route.fallback()));
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeFocused();
  await page.keyboard.type('Is parking free?');
  await press(page);
  const refused = log.getByRole('listitem').filter({ hasText: 'Is parking free?' });
  await expect(refused.getByRole('alert')).toContainText('Not sent.');
  await page.unroute(refuse);
  await tabTo(page, refused.getByRole('button', { name: 'Retry' }), { back: true });
  await press(page);
  await expect(page.getByRole('textbox', { name: 'Message' }), 'focus waits in the composer, not on the page').toBeFocused();
  await expect(refused).toContainText('Sent');
  await expect(refused.getByRole('alert')).toHaveCount(0);

  // Settings, from the bar.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await tabTo(page, nav.getByRole('link', { name: 'Security', exact: true }), { back: true, max: 60 });
  await press(page);
  await expectOnHeading(page, 'Security');
  await tabTo(page, ['link', 'People who help me']);

  // Lock, then unlock with the passkey: the lock screen is a dialog.
  await tabTo(page, nav.getByRole('button', { name: 'Lock now' }), { back: true });
  await press(page);
  const lock = page.getByRole('dialog', { name: 'Ward is locked' });
  await expect(lock).toBeVisible();
  await expectOnHeading(page, 'Ward is locked');
  await tabTo(page, lock.getByRole('button', { name: 'Unlock with your passkey' }));
  await press(page);
  await expect(lock).toHaveCount(0);
  await expectOnHeading(page, 'Security');

  // Sign out: the question closes with Escape, and with "Stay signed in",
  // each time giving focus back to "Sign out"; then yes.
  const signOut = nav.getByRole('button', { name: 'Sign out', exact: true });
  const question = page.getByRole('alertdialog', { name: 'Sign out of Ward on this device?' });
  const stay = question.getByRole('button', { name: 'Stay signed in' });
  await tabTo(page, signOut, { back: true });
  await press(page);
  await expect(question).toBeVisible();
  await expect(stay, 'focus goes into the question').toBeFocused();
  await expectFocusSeen(page);
  await press(page, 'Escape');
  await expect(question).toHaveCount(0);
  await expect(signOut, 'Escape gives focus back to "Sign out"').toBeFocused();
  await expectFocusSeen(page);
  await press(page);
  await expect(stay).toBeFocused();
  await press(page);
  await expect(question).toHaveCount(0);
  await expect(signOut, '"Stay signed in" gives focus back to "Sign out"').toBeFocused();
  await press(page);
  await tabTo(page, question.getByRole('button', { name: 'Yes, sign out' }), { back: true });
  await press(page);
  await expectOnHeading(page, 'Messages with your care team');
  await expect(nav).toHaveCount(0);

  // The code sign-in, as on a device without the passkey (with it, the
  // contact field's passkey autofill would sign in): each error tied to
  // the field it is about.
  await authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator.authenticatorId });
  await tabTo(page, ['button', 'Sign in with a code']);
  await press(page);
  await expectOnHeading(page, 'Sign in with a code');
  const contactField = page.getByRole('textbox', { name: 'Email or phone number on file' });
  await tabTo(page, contactField);
  await retype(page, '');
  await tabTo(page, ['button', 'Send me a code']);
  await press(page);
  await expectTiedError(page, contactField, 'Type the email address or phone number your clinic has for you.');
  await tabTo(page, contactField, { back: true });
  const before = s.codesFor(contact).length;
  await page.keyboard.type(contact);
  await press(page);
  await expectOnHeading(page, 'Enter both codes');
  const signInCode = await s.nextCode(contact, before);
  const sentField = page.getByRole('textbox', { name: 'Code from our message' });
  const appField = page.getByRole('textbox', { name: 'Code from your authenticator app' });
  await tabTo(page, sentField);
  await page.keyboard.type('12');
  await press(page);
  await expectTiedError(page, sentField, 'The code from our message has 6 digits.');
  await expectNotFlagged(appField);
  await retype(page, signInCode);
  await tabTo(page, appField);
  await page.keyboard.type('12');
  await press(page);
  await expectTiedError(page, appField, 'The code from your authenticator app has 6 digits.');
  await expectNotFlagged(sentField);
  // Refused by the relay (no app was ever set up): about both codes.
  await retype(page, '000000');
  await press(page);
  const refusal = page.getByRole('alert');
  await expect(refusal).not.toHaveText('The code from your authenticator app has 6 digits.');
  const said = (await refusal.innerText()).trim();
  await expectTiedError(page, sentField, said);
  await expectTiedError(page, appField, said);
});
