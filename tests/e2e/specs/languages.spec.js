// @ts-check
// Ward in Spanish and English (issue 19): the browser's language chooses,
// Settings changes it live and keeps it, `<html lang>` follows, and on
// every screen a Spanish reader passes through every text comes from the
// catalogue (no English left behind) and axe finds nothing, at a phone's
// and a desktop's width, light and dark.
const { test, expect } = require('@playwright/test');
const s = require('../support');
const { es, notFromCatalogue } = require('../catalogue');

/**
 * No text outside the catalogue in `lang`, and axe clean every way.
 * @param {import('@playwright/test').Page} page
 * @param {string} label
 * @param {string[]} typed what the test wrote or the relay named
 */
async function checkScreen(page, label, typed, lang = /** @type {'en' | 'es'} */ ('es')) {
  await expect(page.locator('html')).toHaveAttribute('lang', lang);
  expect(await notFromCatalogue(page, lang, typed), `${label}: every text from the catalogue (${lang})`).toEqual([]);
  await s.axeEveryWay(page, `${label} (${lang})`);
}

test.use({ locale: 'es-MX' });

test('a Spanish reader enrolls, writes and reads in Spanish: every text from the catalogue, axe clean', async ({ page, request }) => {
  const name = 'Lucía Fernández';
  const contact = 'lucia.es@example.com';
  const typed = [name, contact, 'Riverside Clinic', 'Teléfono de prueba', '¿Puedo ir el jueves por la mañana?', 'El jueves a las 9:30 está bien.', 'Cita'];

  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: es('Messages with your care team') })).toBeVisible();
  await checkScreen(page, 'welcome', typed);

  await page.goto('/sign-in/code');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await checkScreen(page, 'code sign-in', typed);

  await s.addAuthenticator(page, { prf: true });
  const code = await s.invite(request, name, contact);
  const seen = s.codesFor(contact).length;
  await page.goto(`/enroll#invite=${encodeURIComponent(code)}`);
  await expect(page.getByRole('heading', { level: 1, name: es('Set up your account') })).toBeVisible();
  await checkScreen(page, 'enroll: invitation', [...typed, code]);
  await page.getByRole('button', { name: es('Continue'), exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Is this you?') })).toBeVisible();
  await checkScreen(page, 'enroll: is this you', typed);
  await page.getByRole('button', { name: es('Yes, this is me') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Enter your code') })).toBeVisible();
  const sent = await s.nextCode(contact, seen);
  await page.getByLabel(es('Code from the message')).fill(sent === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: es('Verify') }).click();
  await expect(page.getByRole('alert'), 'the relay\'s refusal in Ward\'s own Spanish').toContainText(es('That code is not right, or it expired. Check the latest message we sent, or start again for a new code.'));
  await checkScreen(page, 'enroll: wrong code', typed);
  await page.getByLabel(es('Code from the message')).fill(sent);
  await page.getByRole('button', { name: es('Verify') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Messaging with your clinic') })).toBeVisible();
  // The clinic's consent text is the clinic's own words (English here).
  const consent = await page.getByRole('region', { name: es("The clinic's consent text") }).innerText();
  await checkScreen(page, 'enroll: consent', [...typed, ...consent.split('\n').map((l) => l.trim()).filter(Boolean)]);
  await page.getByRole('button', { name: es('I agree') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Create your passkey') })).toBeVisible();
  await checkScreen(page, 'enroll: passkey', typed);
  await page.getByLabel(es('Name for this passkey')).fill('Teléfono de prueba');
  await page.getByRole('button', { name: es('Create passkey') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Save your recovery code') })).toBeVisible({ timeout: 15_000 });
  const recovery = (await page.getByLabel(es('Your recovery code'), { exact: true }).innerText()).trim().split(/\s+/);
  await checkScreen(page, 'enroll: recovery code', [...typed, ...recovery]);
  await page.getByRole('button', { name: es('I have saved it') }).click();
  await checkScreen(page, 'enroll: recovery check', typed);
  const labels = await page.locator('form label').allInnerTexts();
  const inputs = page.locator('form input');
  for (const [i, label] of labels.entries()) {
    await inputs.nth(i).fill(recovery[Number(label.replace(/\D+/g, '')) - 1]);
  }
  await page.getByRole('button', { name: es('Confirm') }).click();

  const main = page.getByRole('navigation', { name: es('Main') });
  await expect(main).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: es('Messages with your care team') })).toBeVisible();
  await checkScreen(page, 'home', typed);

  await page.getByRole('link', { name: es('New message') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('New message') })).toBeVisible();
  await checkScreen(page, 'new message', typed);
  await page.getByRole('radio').first().check();
  await page.getByRole('textbox', { name: es('Message') }).fill('¿Puedo ir el jueves por la mañana?');
  await page.getByRole('button', { name: es('Send'), exact: true }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'jueves por la mañana' })).toContainText(es('Sent'));
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  s.clinicWithInput('El jueves a las 9:30 está bien.\n', 'reply', threadId, '-');
  await expect(page.getByText('El jueves a las 9:30 está bien.')).toBeVisible();
  await checkScreen(page, 'a conversation', typed);

  await main.getByRole('link', { name: es('Messages') }).click();
  await page.getByRole('link', { name: es('Search'), exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Search messages') })).toBeVisible();
  await page.getByRole('searchbox').or(page.getByRole('textbox')).first().fill('jueves');
  await expect(page.getByText('El jueves a las 9:30 está bien.').first()).toBeVisible();
  await checkScreen(page, 'search', [...typed, 'jueves']);

  await main.getByRole('link', { name: es('Security') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Security') })).toBeVisible();
  await checkScreen(page, 'settings', typed);
  await page.getByRole('link', { name: es('People who help me') }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: es('People who help me') })).toBeVisible();
  await checkScreen(page, 'people who help', typed);

  await page.getByRole('button', { name: es('Lock now') }).click();
  await expect(page.getByRole('heading', { level: 1, name: es('Ward is locked') })).toBeVisible();
  await checkScreen(page, 'locked', typed);
});

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
