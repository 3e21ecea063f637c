// @ts-check
// A phone opening a long thread: only the newest page is fetched and only
// the newest 100 messages are put on the page; "Show earlier messages"
// adds older ones above without moving what the patient is reading and
// without rebuilding the rows already there. On a phone, Enter is a newline.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test.use({ isMobile: true, hasTouch: true });

const SEEDED = 249;

test('a long thread opens at its newest page and pages back on demand, keeping the scroll position', async ({ page, request }) => {
  // Seeding 249 messages through the clinic agent takes most of a minute on a busy machine.
  test.setTimeout(180_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Ana Ruiz', contact: 'ana@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  expect(await page.evaluate(() => matchMedia('(pointer: coarse)').matches), 'a touch screen').toBe(true);

  // On a phone, Enter adds a line; only the Send button sends.
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('First line');
  await composer.press('Enter');
  await composer.pressSequentially('second line');
  await expect(composer).toHaveValue('First line\nsecond line');
  await expect(page.getByRole('heading', { level: 1, name: 'New message' }), 'nothing was sent').toBeVisible();
  await page.getByRole('button', { name: 'Send' }).click();
  const first = page.getByRole('listitem').filter({ hasText: 'First line' });
  await expect(first).toContainText('Sent');
  await expect(first.locator('.text')).toHaveText('First line\nsecond line');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  // On a phone the composer also offers the camera.
  const camera = page.getByLabel('Take a photo');
  await expect(camera).toHaveAttribute('capture', 'environment');
  await expect(camera).toHaveAttribute('accept', 'image/*');

  // The clinic writes back 249 times while the patient is away.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign out' }).click();
  const lines = Array.from({ length: SEEDED }, (_, i) => `Seeded message ${i + 1}`).join('\n');
  const sent = s.clinicWithInput(`${lines}\n`, 'reply', threadId, '-');
  expect(sent.trim().split('\n')).toHaveLength(SEEDED);

  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const pages = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.endsWith('/messages')) pages.push(`before=${url.searchParams.get('before')} after=${url.searchParams.get('after')}`);
  });
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  const newest = page.getByRole('listitem').filter({ hasText: `Seeded message ${SEEDED}` });
  await expect(newest).toBeInViewport();
  const rows = page.locator('li.message');
  await expect(rows).toHaveCount(100);
  expect(pages, 'one request: the newest page').toEqual(['before=latest after=null']);
  const earlier = page.getByRole('button', { name: /Show earlier messages/ });
  await expect(earlier).toHaveText('Show earlier messages (150 more)');

  // Rows already on the page stay the same elements (keyed), and the one
  // the patient is looking at stays where it is.
  await newest.evaluate((li) => { /** @type {any} */ (li).probe = true; });
  await earlier.scrollIntoViewIfNeeded();
  const anchor = page.locator('li.message', { has: page.locator('.text', { hasText: /^Seeded message 150$/ }) });
  const y = (await anchor.boundingBox())?.y ?? NaN;
  await earlier.click();
  await expect(rows).toHaveCount(200);
  await expect(earlier).toHaveText('Show earlier messages (50 more)');
  await expect.poll(async () => Math.abs(((await anchor.boundingBox())?.y ?? 1e9) - y), 'scroll position kept').toBeLessThan(4);
  expect(await newest.evaluate((li) => /** @type {any} */ (li).probe), 'not rebuilt').toBe(true);
  expect(pages).toHaveLength(1);

  // The last press fetches the page before: the whole thread, oldest first.
  await earlier.scrollIntoViewIfNeeded();
  await earlier.click();
  await expect(rows).toHaveCount(SEEDED + 1);
  await expect(earlier).toHaveCount(0);
  expect(pages).toEqual(['before=latest after=null', 'before=51 after=null']);
  await expect(rows.first()).toContainText('First line');
  await expect(rows.nth(1)).toContainText('Seeded message 1');
  await expect(rows.last()).toContainText(`Seeded message ${SEEDED}`);

  // A reply arriving while the patient is about to tap Send never moves Send
  // from under the finger: measured the moment the new row is in the page,
  // before the list scrolls to it.
  await page.locator('.message-scroller').evaluate((list) => { list.scrollTop = list.scrollHeight; });
  const send = page.getByRole('button', { name: 'Send' });
  await expect(send).toBeInViewport();
  await send.evaluate((button) => {
    const top = button.getBoundingClientRect().top;
    /** @type {any} */ (window).sendMoved = new Promise((resolve) => {
      new MutationObserver((records, observer) => {
        const added = records.some((r) => [...r.addedNodes].some((n) => n instanceof Element && n.matches('li.message')));
        if (!added) return;
        observer.disconnect();
        resolve(button.getBoundingClientRect().top - top);
      }).observe(/** @type {Element} */ (document.querySelector('.messages')), { childList: true, subtree: true });
    });
  });
  s.clinic('reply', threadId, 'A reply while you type');
  // (Under a pixel: the page scrolls by whole pixels, rows are not.)
  expect(Math.abs(await page.evaluate(() => /** @type {any} */ (window).sendMoved)), 'Send did not move').toBeLessThan(1);
  await expect(page.getByRole('listitem').filter({ hasText: 'A reply while you type' })).toBeInViewport();
});
