// @ts-check
// The conversation on a 360 × 740 phone: the thread's header and the
// composer stay where they are and only the messages scroll; quick replies
// wrap (never scroll sideways); a message arriving while the patient reads
// further up shows "New message ↓" instead of moving the view; messages
// that came while the patient was away are marked by an "Unread messages"
// divider; a file goes with the first message of a new thread; losing the
// connection shows.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const s = require('../support');

test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });

/** The box of `locator`, which must be on the page. */
async function box(locator) {
  const found = await locator.boundingBox();
  expect(found, 'on the page').not.toBeNull();
  return /** @type {{x: number, y: number, width: number, height: number}} */ (found);
}

test('header and composer stay put, only messages scroll; the pill and the unread divider', async ({ page, request }) => {
  test.setTimeout(120_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Lee Park', contact: 'lee-phone@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Hello, a question about my visit');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Hello, a question about my visit' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // 25 replies, the last with three long quick replies.
  const lines = Array.from({ length: 24 }, (_, i) => `Reply ${i + 1} from the care team`).join('\n');
  s.clinicWithInput(`${lines}\n`, 'reply', threadId, '-');
  s.clinic('reply', threadId, 'Reply 25: which suits you?', '--quick-reply', 'Call me back this afternoon',
    '--quick-reply', 'Book a video visit', '--quick-reply', 'I will come to the clinic');
  const last = page.getByRole('listitem').filter({ hasText: 'Reply 25: which suits you?' });
  await expect(last).toBeInViewport();

  // The header with its back link at the top, the composer at the bottom,
  // the page itself not scrolling: only the messages do.
  const title = page.getByRole('heading', { level: 1, name: 'Other' });
  const back = page.getByRole('link', { name: 'Back to messages' });
  await expect(title).toBeInViewport();
  await expect(back).toBeInViewport();
  const backBox = await box(back);
  expect(backBox.width).toBeGreaterThanOrEqual(44);
  expect(backBox.height).toBeGreaterThanOrEqual(44);
  const composer = page.locator('form.composer');
  const composerBox = await box(composer);
  expect(composerBox.y + composerBox.height, 'the composer ends at the bottom of the screen').toBeGreaterThan(738);
  expect(composerBox.y + composerBox.height).toBeLessThanOrEqual(740.5);
  expect(composerBox.height, 'the composer takes at most 20% of the screen').toBeLessThanOrEqual(148);
  for (const name of ['Add', 'Send']) {
    const control = await box(page.getByRole('button', { name, exact: true }));
    expect(control.height, `${name} is a 44 px target`).toBeGreaterThanOrEqual(44);
  }
  expect(await page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight), 'the page does not scroll').toBeLessThanOrEqual(0);
  const scroller = page.locator('.message-scroller');
  expect(await scroller.evaluate((el) => el.scrollHeight - el.clientHeight), 'the messages scroll').toBeGreaterThan(300);
  const titleTop = (await box(title)).y;

  // Quick replies: rows that wrap, every one whole on the screen, nothing
  // scrolled sideways (WCAG 1.4.10; layout.spec.js checks every screen).
  const quick = page.getByRole('group', { name: 'Quick replies' });
  const sides = await quick.getByRole('button').evaluateAll((buttons) => buttons.map((b) => {
    const r = b.getBoundingClientRect();
    return { left: r.left, right: r.right };
  }));
  expect(sides).toHaveLength(3);
  for (const side of sides) {
    expect(side.left, 'on the screen').toBeGreaterThanOrEqual(0);
    expect(side.right, 'on the screen').toBeLessThanOrEqual(360);
  }
  expect(await quick.evaluate((el) => el.scrollWidth - el.clientWidth), 'no sideways scrolling').toBeLessThanOrEqual(0);

  // "Add" opens the ways to attach, and closes them again.
  const add = page.getByRole('button', { name: 'Add', exact: true });
  await expect(page.getByText('Attach a file')).toBeHidden();
  await add.click();
  await expect(add).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByText('Attach a file')).toBeVisible();
  await expect(page.getByText('Take a photo')).toBeVisible();
  await expect(page.getByLabel('Attach a file'), 'focus goes into the menu').toBeFocused();
  await s.screenshot(page, '29-thread-phone-add');
  await page.keyboard.press('Escape');
  await expect(page.getByText('Attach a file')).toBeHidden();
  await expect(add, 'and back to Add').toBeFocused();
  await s.screenshot(page, '30-thread-phone');

  // Reading further up: a new message does not move the view; the pill does.
  await scroller.evaluate((el) => { el.scrollTop = 0; });
  const first = page.getByRole('listitem').filter({ hasText: 'Reply 1 from the care team' });
  await expect(first).toBeInViewport();
  s.clinic('reply', threadId, 'A new answer while you read');
  const pill = page.getByRole('button', { name: 'New message ↓' });
  await expect(pill).toBeVisible();
  const arrived = page.getByRole('listitem').filter({ hasText: 'A new answer while you read' });
  await expect(arrived).not.toBeInViewport();
  expect(await scroller.evaluate((el) => el.scrollTop), 'the view stayed').toBe(0);
  await expect(first).toBeInViewport();
  expect((await box(title)).y, 'the header stayed').toBe(titleTop);
  await pill.click();
  await expect(arrived).toBeInViewport();
  await expect(pill).toHaveCount(0);

  // Away from the thread, two more arrive: the thread opens at an
  // "Unread messages" divider just above the first of them.
  await back.click();
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  s.clinic('reply', threadId, 'Unread one');
  s.clinic('reply', threadId, 'Unread two');
  const row = page.getByRole('list', { name: 'Conversations' }).getByRole('link').first();
  await expect(row).toContainText('2');
  await row.click();
  const divider = page.getByRole('heading', { level: 2, name: 'Unread messages' });
  await expect(divider).toBeInViewport();
  expect(await page.locator('li.unread-divider + li').innerText()).toContain('Unread one');
  await expect(page.getByRole('listitem').filter({ hasText: 'Unread two' })).toBeInViewport();
  await expect(page.locator('li.unread-divider')).toHaveCount(1);
});

test('a file goes with the first message of a new thread; offline and reconnecting show', async ({ page, request, context }) => {
  test.setTimeout(120_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Mo Diaz', contact: 'mo-phone@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Prescription refill' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('My old prescription is attached');
  const pdf = Buffer.from('%PDF-1.4\n% a prescription\n');
  await s.attachFile(page, { name: 'old-prescription.pdf', mimeType: 'application/pdf', buffer: pdf });
  await expect(page.getByRole('group', { name: 'Attached file' })).toContainText('old-prescription.pdf');
  await page.getByRole('button', { name: 'Send' }).click();
  const sent = page.getByRole('listitem').filter({ hasText: 'My old prescription is attached' });
  await expect(sent).toContainText('old-prescription.pdf');
  await expect(sent).toContainText(/Sent|Delivered|Read/, { timeout: 30_000 });
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  // The clinic opens the same file.
  const read = s.clinic('read', threadId);
  expect(read).toContain('old-prescription.pdf');

  // Offline: said at once, and gone when the connection is back.
  const state = page.getByRole('status').filter({ hasText: 'You are offline.' });
  await context.setOffline(true);
  await expect(state).toBeVisible();
  await context.setOffline(false);
  await expect(state).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: 'Reconnecting…' })).toHaveCount(0, { timeout: 15_000 });
});

test('two refill threads are told apart by their subjects and previews, opened on the device and unreadable at the relay', async ({ page, request }) => {
  test.setTimeout(120_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Ana Lopez', contact: 'ana-subjects@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  /** @type {string[]} */
  const threads = [];
  for (const [subject, text] of [['Blood pressure pills', 'Lisinopril 10 mg, same pharmacy'], ['Asthma inhaler', 'My inhaler runs out Friday']]) {
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByRole('radio', { name: 'Prescription refill' }).check();
    await page.getByLabel('Subject (optional)').fill(subject);
    await page.getByRole('textbox', { name: 'Message' }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible();
    await expect(page.getByText('Prescription refill · With Riverside Clinic')).toBeVisible();
    await expect(page.getByRole('listitem').filter({ hasText: text })).toContainText('Sent');
    threads.push(/** @type {string} */ (new URL(page.url()).pathname.split('/').pop()));
    await page.getByRole('link', { name: 'Back to messages' }).click();
  }
  s.clinic('reply', threads[0], 'Sent to your pharmacy this afternoon.');
  // The care team reads the subject too (the clinic agent opens it).
  expect(s.clinic('read', threads[1]).split('\n')[0]).toBe('Subject: Asthma inhaler');

  // Each row: the subject, what it is about, the newest message.
  const rows = page.getByRole('list', { name: 'Conversations' }).getByRole('link');
  await expect(rows).toHaveCount(2);
  const pills = rows.filter({ hasText: 'Blood pressure pills' });
  await expect(pills).toContainText('Prescription refill · Riverside Clinic');
  await expect(pills).toContainText('Sent to your pharmacy this afternoon.');
  const inhaler = rows.filter({ hasText: 'Asthma inhaler' });
  await expect(inhaler).toContainText('You: My inhaler runs out Friday');
  await s.screenshot(page, '31-threads-subjects');

  // The relay holds neither the subjects nor the words of the previews.
  const dir = s.shared.data;
  const stored = Buffer.concat(['ward.sqlite3', 'ward.sqlite3-wal']
    .map((name) => path.join(dir, name))
    .filter((file) => fs.existsSync(file))
    .map((file) => fs.readFileSync(file)));
  expect(stored.length).toBeGreaterThan(0);
  for (const words of ['Blood pressure pills', 'Asthma inhaler', 'My inhaler runs out Friday', 'Sent to your pharmacy']) {
    expect(stored.includes(Buffer.from(words)), words).toBe(false);
  }

  // After a lock, the list is opened again from the sealed copies.
  await page.getByRole('button', { name: 'Lock now' }).click();
  await expect(page.getByRole('button', { name: 'Unlock with your passkey' })).toBeVisible();
  for (const words of ['Blood pressure pills', 'Asthma inhaler', 'My inhaler runs out Friday']) {
    expect(await page.locator('body').innerHTML(), `${words} is dropped while locked`).not.toContain(words);
  }
  await page.getByRole('button', { name: 'Unlock with your passkey' }).click();
  await expect(rows.filter({ hasText: 'Asthma inhaler' })).toBeVisible();
});
