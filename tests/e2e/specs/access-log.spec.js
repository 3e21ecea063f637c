// @ts-check
// The access log from the patient's side: a sign-in on a kind of device
// the account never used, and three failed sign-ins, show as a banner on
// the next visit home ("Not you? End that session."); Settings → Security
// lists each step in plain words and says the log's chain checks out.
const { test, expect } = require('@playwright/test');
const s = require('../support');

const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

test('a sign-in on a new device and failed sign-ins are a banner on the next visit; the patient ends that session and Activity shows and checks every step', async ({ page, browser, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const contact = 'lee.ng@example.com';
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Lee Ng', contact });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await page.getByLabel('Code from the app').fill(s.totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByText('Authenticator app is on.')).toBeVisible();

  // Someone signs in to Lee's account on an Android phone, with both codes
  // and the recovery code...
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, userAgent: ANDROID });
  const other = await phone.newPage();
  await other.goto('/');
  await other.getByLabel('Email or phone number on file').fill(contact);
  await other.getByRole('button', { name: 'Sign in with a code' }).click();
  const seen = s.codesFor(contact).length;
  await other.getByRole('button', { name: 'Send me a code' }).click();
  await other.getByLabel('Code from our message').fill(await s.nextCode(contact, seen));
  await other.getByLabel('Code from your authenticator app').fill(s.totp(secret, 1));
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.getByLabel('Recovery code').fill(recovery);
  await other.getByRole('button', { name: 'Unlock' }).click();
  await expect(other.getByRole('navigation', { name: 'Main' })).toBeVisible({ timeout: 20_000 });

  // ...and someone tries the code sign-in three times with wrong codes.
  const started = await request.post('/v1/auth/code/start', { data: { contact } });
  expect(started.ok()).toBeTruthy();
  const { login_id } = await started.json();
  for (let i = 0; i < 3; i += 1) {
    const tried = await request.post('/v1/auth/code/verify', { data: { login_id, code: '000000', totp: '000000' } });
    expect(tried.status()).toBe(400);
  }

  // Lee's next visit on the laptop: both show, at once.
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const newSignIn = page.getByRole('alert').filter({ hasText: 'New sign-in on Chrome on Android' });
  await expect(newSignIn).toContainText('Not you? End that session.');
  const failures = page.getByRole('alert').filter({ hasText: '3 failed attempts to sign in to your account' });
  await expect(failures).toBeVisible();
  await s.screenshot(page, '23-sign-in-alert');

  await newSignIn.getByRole('button', { name: 'End that session' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'That session was ended.' })).toBeVisible();
  await expect(newSignIn).toHaveCount(0);
  await failures.getByRole('button', { name: 'I understand' }).click();
  await expect(failures).toHaveCount(0);
  await phone.close();

  // Security → Activity: each step in words, and the chain checked.
  await page.getByRole('link', { name: 'Security', exact: true }).click();
  const activity = page.getByTestId('account-activity');
  await expect(activity).toContainText('Signed in with a code and the authenticator app on Chrome on Android');
  await expect(activity).toContainText('new device');
  await expect(activity).toContainText('Failed sign-in with a code and the authenticator app');
  await expect(activity).toContainText('Chrome on Android was signed out · by this device');
  await expect(activity).toContainText('Signed in with the invite code');
  await expect(page.getByTestId('activity-check')).toContainText('Checked: these');
  await expect(page.getByTestId('activity-check')).toContainText('back to your account\'s first entry');
  await s.screenshot(page, '24-activity');

  // Answered once, not shown again.
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Conversations' }).or(page.getByText('No conversations yet.'))).toBeVisible();
  await expect(page.getByRole('alert').filter({ hasText: 'New sign-in' })).toHaveCount(0);
  await expect(page.getByRole('alert').filter({ hasText: 'failed attempts' })).toHaveCount(0);
});
