// @ts-check
// axe (WCAG 2.2 A and AA) on Ward's screens, in the light and the dark
// scheme (the device's setting: prefers-color-scheme), at a 360 px phone
// and a 1280 px desktop: zero violations. The screens, then the states
// between them (each step of enrolling, the errors, a file, offline, the
// sign-out question, the passkey window); embedding.spec.js checks the
// screens inside a clinic's frame, layout.spec.js reflow, text size,
// spacing, targets and motion.
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

test('every step of enrolling, the errors, a file, offline and the sign-out question pass axe', async ({ page, context, request }) => {
  test.setTimeout(240_000);
  await s.addAuthenticator(page, { prf: true });
  // Each step, a wrong code and a wrong recovery check among them.
  const at = (/** @type {string} */ step) => s.axeEveryWay(page, step);
  const recovery = await s.enrollThroughScreens(page, request, {
    name: 'Omar Benali', contact: 'omar.a11ystates@example.com', wrongCodeFirst: true, at,
  });
  await s.confirmRecoveryCode(page, recovery, { wrongFirst: true, at });

  // The emergency warning, a file refused, then one attached, then the
  // conversation with it.
  await page.getByRole('link', { name: 'New message' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New message' })).toBeVisible();
  await page.getByRole('radio', { name: 'Prescription refill' }).check();
  // The emergency warning the on-device check shows before sending.
  await page.getByRole('textbox', { name: 'Message' }).fill('I have chest pain. Should I still take my pills?');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'If this is an emergency, call 911.' })).toBeVisible();
  await s.axeEveryWay(page, 'the emergency warning');
  await page.getByRole('textbox', { name: 'Message' }).fill('My old prescription is attached');
  await s.attachFile(page, { name: 'empty.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(0) });
  await expect(page.getByRole('alert')).toContainText('“empty.pdf” is empty (0 bytes).');
  await s.axeEveryWay(page, 'a refused file');
  await s.attachFile(page, { name: 'old-prescription.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a prescription\n') });
  await expect(page.getByRole('group', { name: 'Attached file' })).toContainText('old-prescription.pdf');
  await s.axeEveryWay(page, 'a file attached');
  await page.getByRole('button', { name: 'Send' }).click();
  const sent = page.getByRole('listitem').filter({ hasText: 'My old prescription is attached' });
  await expect(sent).toContainText('old-prescription.pdf');
  await expect(sent).toContainText(/Sent|Delivered|Read/, { timeout: 30_000 });
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  s.clinic('reply', threadId, 'Thank you, we have it. Shall we send it to your pharmacy?',
    '--quick-reply', 'Yes please', '--quick-reply', 'No, I will pick it up');
  await expect(page.getByRole('group', { name: 'Quick replies' })).toBeVisible();
  await s.axeEveryWay(page, 'a conversation with an attachment and quick replies');

  // Offline: said at once.
  const offline = page.getByRole('status').filter({ hasText: 'You are offline.' });
  await context.setOffline(true);
  await expect(offline).toBeVisible();
  await s.axeEveryWay(page, 'offline');
  await context.setOffline(false);
  await expect(offline).toHaveCount(0);

  // The sign-out question.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('button', { name: 'Sign out', exact: true }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Sign out of Ward on this device?' });
  await expect(confirm).toBeVisible();
  await s.axeEveryWay(page, 'the sign-out question');
  await confirm.getByRole('button', { name: 'Stay signed in' }).click();
  await expect(confirm).toBeHidden();

  // The relay out of reach: Ward starts and says so.
  const relay = /\/(v1\/|healthz)/;
  await page.route(relay, (route) => route.abort('connectionrefused'));
  await page.reload();
  await expect(page.locator('.relay-status')).toContainText("Can't reach Ward");
  await s.axeEveryWay(page, "can't reach Ward");
  await page.unroute(relay);
});

test("the passkey window, opened on its own, passes axe", async ({ page }) => {
  await page.goto('/passkey-window');
  await expect(page.getByRole('heading', { level: 1, name: 'Nothing to do here' })).toBeVisible();
  await s.axeEveryWay(page, 'the passkey window');
});
