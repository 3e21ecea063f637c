// @ts-check
// Minors: the clinic records a teen's birth date and appoints a parent as
// guardian (ward-clinic patient / guardian); the parent enrolls on her own
// phone and waits; the teen, in her own app, sees who the clinic appointed
// and agrees before anything can be shared, and her Activity records it.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test('the clinic appoints a parent for a teen, who agrees in her own app before anything is shared', async ({ page, browser, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Mia Lopez', contact: 'mia.lopez@example.com' });
  await s.confirmRecoveryCode(page, recovery);

  // The clinic, at its desk: Mia is 14 or 15, her mother is her guardian.
  const mia = s.accountId('mia.lopez@example.com');
  const born = `${new Date().getUTCFullYear() - 15}-01-01`;
  expect(s.clinic('patient', mia, '--minor', '--birth-date', born).trim()).toBe(`birth date of ${mia}: ${born}`);
  const inviteCode = s.clinic('guardian', mia, '--name', 'Rosa Lopez', '--relationship', 'parent', '--contact', 'rosa.lopez@example.com').trim();

  // Rosa enrolls on her own phone, and waits for Mia.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const rosa = await phone.newPage();
  await s.addAuthenticator(rosa, { prf: true });
  const rosaRecovery = await s.enrollThroughScreens(rosa, request, { name: 'Rosa Lopez', contact: 'rosa.lopez@example.com', inviteCode });
  await s.confirmRecoveryCode(rosa, rosaRecovery);
  await rosa.getByRole('link', { name: 'Security' }).click();
  await rosa.getByRole('link', { name: 'People who help me' }).click();
  const helped = rosa.getByRole('list', { name: 'People you help' }).getByRole('listitem').filter({ hasText: 'Mia Lopez' });
  await expect(helped).toContainText('The clinic appointed you. Mia Lopez has to agree in their own app');

  // Mia sees who the clinic appointed, and that nothing is shared yet.
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  const row = page.getByRole('list', { name: 'Your caregivers' }).getByRole('listitem').filter({ hasText: 'Rosa Lopez' });
  await expect(row).toContainText('Parent · appointed by the clinic');
  await expect(row).toContainText('Nothing is shared with them until you agree to their help.');
  await s.screenshot(page, '27-teen-assent');
  // What she agrees to is on the page before she does.
  await expect(row.getByRole('region', { name: 'The caregiver terms' })).toContainText('They never use your passkey');
  await row.getByRole('button', { name: 'Agree to Rosa Lopez helping me' }).click();
  await expect(page.getByRole('status').filter({ hasText: "You agreed to Rosa Lopez's help." })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Your caregivers' }).getByRole('listitem').filter({ hasText: 'Rosa Lopez' })).toContainText('Can help since');

  // Rosa's list, read again, no longer waits.
  await rosa.getByRole('link', { name: 'Back to messages' }).click();
  await rosa.getByRole('link', { name: 'Security' }).click();
  await rosa.getByRole('link', { name: 'People who help me' }).click();
  await expect(helped).toContainText('Since');
  await expect(helped).not.toContainText('has to agree');
  await phone.close();

  // Mia's Activity: the appointment and her agreement, the chain checked.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  const activity = page.getByTestId('account-activity');
  await expect(activity).toContainText('Caregiver invited (Rosa Lopez)');
  await expect(activity).toContainText('Agreed to a caregiver the clinic appointed (Rosa Lopez)');
  await expect(activity).toContainText('Agreed to the caregiver terms (version ward-caregiver-1), agreeing to Rosa Lopez');
  await expect(page.getByTestId('activity-check')).toContainText('Checked: these');
});
