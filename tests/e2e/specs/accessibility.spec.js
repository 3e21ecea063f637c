// @ts-check
// axe (WCAG 2.2 A and AA) on Ward's screens, in the light and the dark
// scheme (the device's setting: prefers-color-scheme), at a 360 px phone
// and a 1280 px desktop: zero violations. The start of issue 19's sweep;
// embedding.spec.js checks the screens inside a clinic's frame.
const { test, expect } = require('@playwright/test');
const s = require('../support');

const sizes = [{ width: 360, height: 740 }, { width: 1280, height: 800 }];
const schemes = /** @type {const} */ (['light', 'dark']);

/** Runs axe on `page` in every scheme and size; `label` names the screen. */
async function everyWay(page, label) {
  for (const colorScheme of schemes) {
    for (const size of sizes) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize(size);
      const dark = await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme);
      expect(dark, `${label}: the scheme follows the device`).toBe(colorScheme);
      expect(await s.axeViolations(page), `${label}, ${colorScheme}, ${size.width} px`).toEqual([]);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(sizes[0]);
}

test('every screen passes axe, light and dark, on a phone and a desktop', async ({ page, request }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await everyWay(page, 'welcome');
  await page.goto('/sign-in/code');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await everyWay(page, 'code sign-in');

  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Rosa Quintero', contact: 'rosa.a11y@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await everyWay(page, 'home');

  await page.getByRole('link', { name: 'New message' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New message' })).toBeVisible();
  await everyWay(page, 'new message');
  await page.getByRole('radio', { name: 'Appointment' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Can I come in on Thursday morning?');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Thursday morning' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  s.clinicWithInput('Thursday at 9:30 works. See you then.\n', 'reply', threadId, '-');
  await expect(page.getByText('Thursday at 9:30 works.')).toBeVisible();
  await everyWay(page, 'a conversation');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Messages' }).click();
  await page.getByRole('link', { name: 'Search', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Search messages' })).toBeVisible();
  await page.getByRole('searchbox').or(page.getByRole('textbox')).first().fill('Thursday');
  await expect(page.getByText('Thursday at 9:30 works.').first()).toBeVisible();
  await everyWay(page, 'search');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Security' })).toBeVisible();
  await everyWay(page, 'settings');
  await page.getByRole('link', { name: 'People who help me' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'People who help me' })).toBeVisible();
  await everyWay(page, 'people who help');

  await page.getByRole('button', { name: 'Lock now' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeVisible();
  await everyWay(page, 'locked');
});
