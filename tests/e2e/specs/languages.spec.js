// @ts-check
// Ward in Spanish and English (issue 19): the browser's language chooses,
// the first screen and Settings change it live and keep it, `<html lang>`
// follows. Every screen in each language (every text from the catalogue,
// axe clean) is accessibility.spec.js.
const { test, expect } = require('@playwright/test');
const s = require('../support');
const { es, notFromCatalogue } = require('../catalogue');

test('the language is changed on the first screen and in Settings, live, and kept on the device', async ({ browser, request }) => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();

  // On the first screen, before any account: the picker is there too.
  await page.getByRole('combobox', { name: 'Language' }).selectOption('es');
  await expect(page.getByRole('heading', { level: 1, name: es('Messages with your care team') })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await page.getByRole('combobox', { name: es('Language') }).selectOption('en');
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();

  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Marta Ibáñez', contact: 'marta.lang@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('textbox', { name: 'Message' }).or(page.getByRole('link', { name: 'New message' })).first().waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Security' })).toBeVisible();

  // Live: the screen changes in place, still unlocked.
  await page.getByRole('combobox', { name: 'Language' }).selectOption('es');
  await expect(page.getByRole('heading', { level: 1, name: es('Security') })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByRole('button', { name: es('Lock now') })).toBeVisible();
  expect(await notFromCatalogue(page, 'es', ['Marta Ibáñez', 'marta.lang@example.com', 'Test phone', 'Riverside Clinic'])).toEqual([]);

  // Kept: a new page on this device starts in Spanish, whatever the browser says.
  const again = await context.newPage();
  await again.goto('/');
  await expect(again.locator('html')).toHaveAttribute('lang', 'es');
  await again.close();

  await page.getByRole('combobox', { name: es('Language') }).selectOption('en');
  await expect(page.getByRole('heading', { level: 1, name: 'Security' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await context.close();
});
