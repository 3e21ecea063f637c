// @ts-check
// axe (WCAG 2.2 A and AA) on Ward's screens, in the light and the dark
// scheme (the device's setting: prefers-color-scheme), at a 360 px phone
// and a 1280 px desktop: zero violations. The start of issue 19's sweep;
// embedding.spec.js checks the screens inside a clinic's frame.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test('every screen passes axe, light and dark, on a phone and a desktop', async ({ page, request }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await s.axeEveryWay(page, 'welcome');
  await page.goto('/sign-in/code');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await s.axeEveryWay(page, 'code sign-in');

  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Rosa Quintero', contact: 'rosa.a11y@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await s.axeEveryWay(page, 'home');

  await page.getByRole('link', { name: 'New message' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New message' })).toBeVisible();
  await s.axeEveryWay(page, 'new message');
  await page.getByRole('radio', { name: 'Appointment' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Can I come in on Thursday morning?');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Thursday morning' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  s.clinicWithInput('Thursday at 9:30 works. See you then.\n', 'reply', threadId, '-');
  await expect(page.getByText('Thursday at 9:30 works.')).toBeVisible();
  await s.axeEveryWay(page, 'a conversation');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Messages' }).click();
  await page.getByRole('link', { name: 'Search', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Search messages' })).toBeVisible();
  await page.getByRole('searchbox').or(page.getByRole('textbox')).first().fill('Thursday');
  await expect(page.getByText('Thursday at 9:30 works.').first()).toBeVisible();
  await s.axeEveryWay(page, 'search');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Security' })).toBeVisible();
  await s.axeEveryWay(page, 'settings');
  await page.getByRole('link', { name: 'People who help me' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'People who help me' })).toBeVisible();
  await s.axeEveryWay(page, 'people who help');

  await page.getByRole('button', { name: 'Lock now' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeVisible();
  await s.axeEveryWay(page, 'locked');
});
