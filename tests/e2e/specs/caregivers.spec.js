// @ts-check
// Caregivers from the patient's side: "People who help me" invites someone
// (a link and a code), the caregiver enrolls on their own phone with their
// own passkey, and both see where they stand.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test('a patient invites a caregiver from "People who help me"; the caregiver enrolls with their own passkey and both see it', async ({ page, browser, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Sam Rivera', contact: 'sam.rivera@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'People who help me' })).toBeVisible();
  await expect(page.getByText('You have not invited anyone yet.')).toBeVisible();

  // Half a form: a clear error, and what was typed stays.
  await page.getByLabel('Their name').fill('Dana Rivera');
  await page.getByRole('button', { name: 'Invite' }).click();
  await expect(page.getByRole('alert')).toContainText('Enter their name and their e-mail address or mobile number.');
  await expect(page.getByLabel('Their name')).toHaveValue('Dana Rivera');

  await page.getByLabel('Their e-mail address or mobile number').fill('dana.rivera@example.com');
  await page.getByRole('button', { name: 'Invite' }).click();
  const made = page.getByRole('status').filter({ hasText: 'Invite for Dana Rivera made.' });
  await expect(made).toBeVisible();
  const link = (await made.locator('code').innerText()).trim();
  expect(link).toContain('/enroll#invite=');
  const inviteCode = decodeURIComponent(link.split('#invite=')[1]);
  await expect(made).toContainText(inviteCode);
  const mine = page.getByRole('list', { name: 'Your caregivers' });
  const dana = mine.getByRole('listitem').filter({ hasText: 'Dana Rivera' });
  await expect(dana).toContainText('Invited. The invite works until');
  await expect(dana).toContainText('Codes go to d•••@example.com');

  // Dana, on her own phone: her own passkey and recovery code.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const danaPage = await phone.newPage();
  await s.addAuthenticator(danaPage, { prf: true });
  const danaRecovery = await s.enrollThroughScreens(danaPage, request, { name: 'Dana Rivera', contact: 'dana.rivera@example.com', inviteCode });
  expect(danaRecovery).not.toBe(recovery);
  await s.confirmRecoveryCode(danaPage, danaRecovery);
  await danaPage.getByRole('link', { name: 'Security' }).click();
  await danaPage.getByRole('link', { name: 'People who help me' }).click();
  await expect(danaPage.getByRole('heading', { level: 2, name: 'People you help' })).toBeVisible();
  await expect(danaPage.getByRole('listitem').filter({ hasText: 'Sam Rivera' })).toContainText('Since');
  // A caregiver cannot invite a caregiver: no form for her.
  await expect(danaPage.getByRole('button', { name: 'Invite' })).toHaveCount(0);
  await phone.close();

  // Sam sees her as able to help (the list is read again on opening).
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  await expect(mine.getByRole('listitem').filter({ hasText: 'Dana Rivera' })).toContainText('Can help since');
});
