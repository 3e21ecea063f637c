// @ts-check
// `cargo xtask bench` only (WARD_BENCH=1): a patient opens a thread of
// 10 000 real messages, sealed by the clinic agent and stored by the real
// relay. Prints `BENCH` lines; asserts what was shown, not how fast.
const { test, expect } = require('@playwright/test');
const s = require('../support');

const MESSAGES = 10_000;

test('open a 10 000-message thread', async ({ page, request }) => {
  test.setTimeout(15 * 60_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Bench Patient', contact: 'bench@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('The first message of a long thread');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'The first message' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();

  const lines = Array.from({ length: MESSAGES - 1 }, (_, i) => `Reply ${i + 1}: how are you feeling today after the new dose?`);
  const seeding = Date.now();
  s.clinicWithInput(`${lines.join('\n')}\n`, 'reply', threadId, '-');
  const seconds = (Date.now() - seeding) / 1000;
  console.log(`BENCH relay: ${MESSAGES - 1} messages sealed and posted one after another by one clinic agent in ${seconds.toFixed(1)} s (${((MESSAGES - 1) / seconds).toFixed(0)} messages/s, release builds)`);

  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('list', { name: 'Conversations' }).getByRole('link')).toHaveCount(1);
  const rows = page.locator('li.message');

  // Timed in the page, by animation frame: from the click to the newest
  // message on screen with 100 rows, and from "Show earlier" to 100 more.
  const openMs = await timed(page, '[aria-label="Conversations"] a', 100, `Reply ${MESSAGES - 1}:`);
  await expect(page.getByRole('listitem').filter({ hasText: `Reply ${MESSAGES - 1}:` })).toBeInViewport();
  await expect(rows).toHaveCount(100);
  console.log(`BENCH thread of ${MESSAGES} messages from the relay: open (fetch newest 200, decrypt, show 100) ${openMs.toFixed(0)} ms`);

  const fromMemoryMs = await timed(page, 'button.show-earlier', 200, `Reply ${MESSAGES - 1}:`);
  const fetchedMs = await timed(page, 'button.show-earlier', 300, `Reply ${MESSAGES - 1}:`);
  await expect(rows).toHaveCount(300);
  console.log(`BENCH thread of ${MESSAGES} messages from the relay: show earlier, already decrypted (100 more rows) ${fromMemoryMs.toFixed(0)} ms`);
  console.log(`BENCH thread of ${MESSAGES} messages from the relay: show earlier with a fetch (200 more decrypted, 100 more rows) ${fetchedMs.toFixed(0)} ms`);
});

/** Clicks `selector` in the page and returns the ms until `count` message rows show, the last containing `newest`. */
async function timed(page, selector, count, newest) {
  return page.evaluate(([selector, count, newest]) => new Promise((resolve) => {
    const target = /** @type {HTMLElement} */ (document.querySelector(selector));
    const start = performance.now();
    target.click();
    const check = () => {
      const rows = document.querySelectorAll('li.message');
      if (rows.length >= count && (rows[rows.length - 1].textContent ?? '').includes(newest)) {
        resolve(performance.now() - start);
      } else {
        requestAnimationFrame(check);
      }
    };
    requestAnimationFrame(check);
  }), [selector, count, newest]);
}
