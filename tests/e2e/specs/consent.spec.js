// @ts-check
// The clinic's consent to messaging: agreed to at enrollment before the
// passkey (the helper does it, and checks the text is shown), read again
// in Settings, withdrawn (messaging stops, nothing is deleted, the clinic
// sees it) and given again.
const { test, expect } = require('@playwright/test');
const s = require('../support');

test('a patient reads what they agreed to, withdraws (sending stops, nothing is lost, the clinic sees it) and agrees again', async ({ page, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Kim Osei', contact: 'kim.osei@example.com', shots: false });
  await s.confirmRecoveryCode(page, recovery);

  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Question for my care team' }).check();
  const first = 'Can I take ibuprofen with my new prescription?';
  await page.getByRole('textbox', { name: 'Message' }).fill(first);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: first })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // Settings: what Kim agreed to, in the clinic's words.
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  const standing = page.getByTestId('consent-standing');
  await expect(standing).toContainText('You agreed to version ward-default-1 on');
  await page.getByText('Read what you agreed to').click();
  await expect(page.getByRole('region', { name: "The clinic's consent text" })).toContainText('You can withdraw this consent at any time');

  // Withdrawing asks first, then stops messaging.
  await page.getByRole('button', { name: 'Withdraw consent' }).click();
  await page.getByRole('button', { name: 'Keep messaging' }).click();
  await expect(standing).toContainText('You agreed to version');
  await page.getByRole('button', { name: 'Withdraw consent' }).click();
  await page.getByRole('button', { name: 'Yes, withdraw' }).click();
  await expect(standing).toContainText('You withdrew your consent on');
  await s.screenshot(page, '26-consent-withdrawn');
  const activity = page.getByTestId('account-activity');
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  await expect(activity).toContainText('Agreed to messaging with the clinic (version ward-default-1)');
  await expect(activity).toContainText('Withdrew consent to messaging (version ward-default-1)');

  // The clinic's inbox says so; nothing was deleted.
  expect(s.clinic('inbox')).toMatch(new RegExp(`${threadId}\\t.*\\tconsent withdrawn`));
  expect(s.clinic('read', threadId)).toContain(`Kim Osei: ${first}`);

  // A message now is not sent, and says why; what was there stays.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  await expect(page.getByRole('listitem').filter({ hasText: first })).toBeVisible();
  const blocked = 'Please call me instead.';
  await page.getByRole('textbox', { name: 'Message' }).fill(blocked);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: blocked })).toContainText('Not sent. You withdrew your consent to messaging');

  // Agreeing again: messaging works again.
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  await page.getByRole('button', { name: 'I agree to messaging' }).click();
  await expect(standing).toContainText('You agreed to version ward-default-1 on');
  expect(s.clinic('inbox')).not.toContain('consent withdrawn');
});

// A relay of the spec's own, to change the clinic's terms (a restart with
// a new version): an account that agreed to the old text is asked on its
// next visit home, and agreeing records the new version.
test('when the clinic changes its terms, the next visit home asks to agree to the new version', async ({ page, request }) => {
  const relay = await s.ownRelay();
  try {
    await s.addAuthenticator(page, { prf: true });
    const recovery = await s.enrollThroughScreens(page, request, { name: 'Ana Lima', contact: 'ana.lima@example.com', relay });
    await s.confirmRecoveryCode(page, recovery);
    await expect(page.getByRole('heading', { name: 'Messages with your care team' })).toBeVisible();
    await expect(page.getByRole('heading', { name: "The clinic's terms for messaging" })).toHaveCount(0);
    // Signed in, the address bar says home: a reload opens sign-in, not enrolment.
    await expect(page).toHaveURL(`${relay.url}/`);

    await relay.kill();
    relay.configure([
      'consent_version = "2027-01"',
      'consent_text = """Messaging your care team, 2027 terms',
      '',
      'Replies come within two working days. You can withdraw this consent at any time in Settings."""',
      '',
    ].join('\n'));
    await relay.start();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();

    const asked = page.getByRole('heading', { name: "The clinic's terms for messaging" });
    await expect(asked).toBeVisible();
    await expect(page.getByText('The clinic changed its terms for messaging since you agreed to version ward-default-1. Please read version 2027-01 and agree.')).toBeVisible();
    await expect(page.getByRole('region', { name: "The clinic's consent text" })).toContainText('Replies come within two working days.');
    await page.getByRole('button', { name: 'I agree to messaging' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'your agreement is recorded' })).toBeVisible();
    await expect(asked).toHaveCount(0);

    await page.getByRole('link', { name: 'Security', exact: true }).click();
    await expect(page.getByTestId('consent-standing')).toContainText('You agreed to version 2027-01 on');
    await expect(page.getByTestId('account-activity')).toContainText('Agreed to messaging with the clinic (version 2027-01)');

    // Agreed: the next visit home asks nothing.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page.getByRole('heading', { name: 'Messages with your care team' })).toBeVisible();
    await expect(asked).toHaveCount(0);
  } finally {
    await relay.stop();
  }
});
