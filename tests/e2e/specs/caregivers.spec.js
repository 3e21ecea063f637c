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
  await page.getByLabel('How are they related to you?').selectOption({ label: 'Son or daughter' });
  // Inviting is agreeing to the caregiver terms, shown above the button.
  await expect(page.getByRole('region', { name: 'The caregiver terms' })).toContainText('Letting someone help you with your messages');
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
  await expect(dana).toContainText('Son or daughter');

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

test('a patient shares a conversation with a caregiver, who answers for them; removed, she loses it at once and the next message goes under keys she does not hold', async ({ page, browser, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Sam Okafor', contact: 'sam.okafor@example.com' });
  await s.confirmRecoveryCode(page, recovery);

  // Sam invites Dana; she enrolls on her own phone.
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  await page.getByLabel('Their name').fill('Dana Okafor');
  await page.getByLabel('Their e-mail address or mobile number').fill('dana.okafor@example.com');
  await page.getByRole('button', { name: 'Invite' }).click();
  const made = page.getByRole('status').filter({ hasText: 'Invite for Dana Okafor made.' });
  const link = (await made.locator('code').innerText()).trim();
  const inviteCode = decodeURIComponent(link.split('#invite=')[1]);
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const dana = await phone.newPage();
  await s.addAuthenticator(dana, { prf: true });
  const danaRecovery = await s.enrollThroughScreens(dana, request, { name: 'Dana Okafor', contact: 'dana.okafor@example.com', inviteCode });
  await s.confirmRecoveryCode(dana, danaRecovery);
  await expect(dana.getByRole('list', { name: 'Conversations' })).toHaveCount(0);

  // Sam writes to the clinic, then shares that conversation with Dana.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Question for my care team' }).check();
  const first = 'Dana will help me with my appointments from now on.';
  await page.getByRole('textbox', { name: 'Message' }).fill(first);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: first })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  await page.getByText('Who can see this conversation').click();
  const helpers = page.getByRole('list', { name: 'Your caregivers and this conversation' });
  await expect(helpers.getByRole('listitem').filter({ hasText: 'Dana Okafor' })).toContainText('Cannot see this conversation');
  // "Only me" keeps it from every caregiver until Sam turns it off.
  const onlyMe = page.getByRole('checkbox', { name: 'Only me: never share this conversation with a caregiver' });
  await onlyMe.check();
  await expect(page.getByRole('status').filter({ hasText: 'Only you and your care team see this conversation.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Share with Dana Okafor' })).toBeDisabled();
  await onlyMe.uncheck();
  await expect(page.getByRole('status').filter({ hasText: 'You can share this conversation again.' })).toBeVisible();
  await page.getByRole('button', { name: 'Share with Dana Okafor' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Dana Okafor can now read this conversation.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Stop sharing with Dana Okafor' })).toBeVisible();
  await s.screenshot(page, '19-sharing');

  // Dana's inbox lists it live; she reads Sam's message (its key was sealed
  // to her) and answers, named as answering for Sam.
  const shared = dana.getByRole('list', { name: 'Conversations' }).getByRole('link');
  await expect(shared).toHaveCount(1);
  await shared.click();
  await expect(dana.getByRole('listitem').filter({ hasText: first })).toContainText('Sam Okafor');
  const answer = 'I can drive Sam to the Friday visit.';
  await dana.getByRole('textbox', { name: 'Message' }).fill(answer);
  await dana.getByRole('button', { name: 'Send' }).click();
  await expect(dana.getByRole('listitem').filter({ hasText: answer })).toContainText(/Sent|Read/);
  await expect(page.getByRole('listitem').filter({ hasText: answer })).toContainText('Dana Okafor for Sam Okafor');
  await s.screenshot(dana, '20-caregiver-answers');
  expect(s.clinic('read', threadId)).toContain(`Dana Okafor for Sam Okafor: ${answer}`);

  // Sam makes Dana read only: her composer goes away while she looks.
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  const row = page.getByRole('list', { name: 'Your caregivers' }).getByRole('listitem').filter({ hasText: 'Dana Okafor' });
  await row.getByRole('checkbox', { name: 'Dana Okafor can read but not send' }).check();
  await expect(page.getByRole('status').filter({ hasText: 'Dana Okafor can now read your shared conversations but not send.' })).toBeVisible();
  await expect(dana.getByText('You can read this conversation but not send in it. Ask Sam Okafor if you need to send something.')).toBeVisible();
  await expect(dana.getByRole('textbox', { name: 'Message' })).toHaveCount(0);
  await expect(row).toContainText('Reads only');
  await s.screenshot(page, '21-people-who-help');

  // Sam removes Dana: her open conversation is gone from her screen at once.
  await row.getByRole('button', { name: 'Remove Dana Okafor' }).click();
  await expect(row).toContainText('They will no longer see any of your messages.');
  await row.getByRole('button', { name: 'Yes, remove' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Dana Okafor was removed.' })).toBeVisible();
  await expect(dana.getByRole('alert').filter({ hasText: 'Your access to these messages has ended.' })).toBeVisible();
  await expect(dana.getByText(first)).toHaveCount(0);
  await expect(dana.getByText(answer)).toHaveCount(0);
  await s.screenshot(dana, '22-access-ended');
  await expect(row).toContainText('Removed on');
  // Sam's account activity says who could read and when that ended.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'Security' }).click();
  const activity = page.getByTestId('account-activity');
  await expect(activity).toContainText('A conversation was shared with a caregiver (Dana Okafor)');
  await expect(activity).toContainText('A caregiver was removed (Dana Okafor)');
  // What Dana did in it, from the relay's access log, in words.
  await expect(activity).toContainText('A caregiver accepted your invitation (Dana Okafor)');
  await expect(activity).toContainText('Agreed to the caregiver terms (version ward-caregiver-1), inviting Dana Okafor');
  await expect(activity).toContainText('Dana Okafor (caregiver) read “Question for my care team”');
  await expect(activity).toContainText('Dana Okafor (caregiver) sent a message in “Question for my care team”');
  await expect(page.getByTestId('activity-check')).toContainText('Checked: these');

  // Sam's next message goes under a new epoch without her, and the clinic
  // reads it.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  const after = 'Dana no longer helps me; please call me directly.';
  await page.getByRole('textbox', { name: 'Message' }).fill(after);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: after })).toContainText('Sent');
  expect(s.clinic('read', threadId)).toContain(`Sam Okafor: ${after}`);
  // In the relay's database: epoch 0 was sealed to Dana, the epoch Sam's
  // last message went under is not.
  const sealed = s.sealedTo(threadId);
  expect(sealed['0']).toContain('Dana Okafor');
  const newest = Object.keys(sealed).map(Number).sort((a, b) => b - a)[0];
  expect(newest).toBeGreaterThan(0);
  expect(sealed[String(newest)]).not.toContain('Dana Okafor');
  expect(sealed[String(newest)]).toContain('Sam Okafor');
  await phone.close();
});

test('a caregiver who helps two people accepts the second invitation with her own account and chooses whose messages to see', async ({ page, browser, request }) => {
  // Sam invites Kim; Kim enrolls on her own phone.
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Sam Lee', contact: 'sam.lee@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  const inviteKim = async (/** @type {import('@playwright/test').Page} */ patient) => {
    await patient.getByRole('link', { name: 'Security' }).click();
    await patient.getByRole('link', { name: 'People who help me' }).click();
    await patient.getByLabel('Their name').fill('Kim Lee');
    await patient.getByLabel('How are they related to you?').selectOption({ label: 'Parent' });
    await patient.getByLabel('Their e-mail address or mobile number').fill('kim.lee@example.com');
    await patient.getByRole('button', { name: 'Invite' }).click();
    const made = patient.getByRole('status').filter({ hasText: 'Invite for Kim Lee made.' });
    return decodeURIComponent((await made.locator('code').innerText()).trim().split('#invite=')[1]);
  };
  const first = await inviteKim(page);
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const kim = await phone.newPage();
  await s.addAuthenticator(kim, { prf: true });
  await s.confirmRecoveryCode(kim, await s.enrollThroughScreens(kim, request, { name: 'Kim Lee', contact: 'kim.lee@example.com', inviteCode: first }));

  // Jo, Kim's other child, invites her too, at the same address.
  const other = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const jo = await other.newPage();
  await s.addAuthenticator(jo, { prf: true });
  await s.confirmRecoveryCode(jo, await s.enrollThroughScreens(jo, request, { name: 'Jo Lee', contact: 'jo.lee@example.com' }));
  const second = await inviteKim(jo);

  // Kim accepts it with the account she has; a wrong code first.
  await kim.getByRole('link', { name: 'Security' }).click();
  await kim.getByRole('link', { name: 'People who help me' }).click();
  await kim.getByLabel('Invitation code').fill('WRONG-CODE');
  await kim.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(kim.getByRole('alert')).toContainText('not valid');
  await expect(kim.getByLabel('Invitation code')).toHaveValue('WRONG-CODE');
  await kim.getByLabel('Invitation code').fill(second);
  await kim.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(kim.getByRole('status').filter({ hasText: 'Invitation accepted.' })).toBeVisible();
  const helped = kim.getByRole('list', { name: 'People you help' });
  await expect(helped.getByRole('listitem').filter({ hasText: 'Jo Lee' })).toBeVisible();
  await expect(helped.getByRole('listitem').filter({ hasText: 'Sam Lee' })).toBeVisible();

  // Home: she chooses whose messages to see.
  await kim.getByRole('link', { name: 'Back to messages' }).click();
  const whose = kim.getByRole('group', { name: 'Whose messages' });
  await expect(whose.getByRole('radio', { name: "Everyone's" })).toBeChecked();
  await whose.getByRole('radio', { name: 'Messages for Jo Lee' }).check();
  await expect(whose.getByRole('radio', { name: 'Messages for Jo Lee' })).toBeChecked();
  await expect(whose.getByRole('radio', { name: 'Messages for Sam Lee' })).not.toBeChecked();

  // Jo sees that Kim accepted.
  await jo.getByRole('link', { name: 'Back to messages' }).click();
  await jo.getByRole('link', { name: 'Security' }).click();
  await jo.getByRole('link', { name: 'People who help me' }).click();
  await expect(jo.getByRole('list', { name: 'Your caregivers' }).getByRole('listitem').filter({ hasText: 'Kim Lee' })).toContainText('Can help since');
  await phone.close();
  await other.close();
});

test('a caregiver given all conversations sees each one, new ones as they start; "Only me" keeps one from her', async ({ page, browser, request }) => {
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Sam Adeyemi', contact: 'sam.adeyemi@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  const conversations = (/** @type {import('@playwright/test').Page} */ p) => p.getByRole('list', { name: 'Conversations' }).getByRole('link');
  const write = async (/** @type {string} */ category, /** @type {string} */ text) => {
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByRole('radio', { name: category }).check();
    await page.getByRole('textbox', { name: 'Message' }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('listitem').filter({ hasText: text })).toContainText('Sent');
    await page.getByRole('link', { name: 'Messages', exact: true }).click();
  };
  await write('Prescription refill', 'My inhaler runs out on Friday.');

  // Dana enrolls from Sam's invite on her own phone.
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  await page.getByLabel('Their name').fill('Dana Adeyemi');
  await page.getByLabel('Their e-mail address or mobile number').fill('dana.adeyemi@example.com');
  await page.getByRole('button', { name: 'Invite' }).click();
  const made = page.getByRole('status').filter({ hasText: 'Invite for Dana Adeyemi made.' });
  const inviteCode = decodeURIComponent((await made.locator('code').innerText()).trim().split('#invite=')[1]);
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const dana = await phone.newPage();
  await s.addAuthenticator(dana, { prf: true });
  await s.confirmRecoveryCode(dana, await s.enrollThroughScreens(dana, request, { name: 'Dana Adeyemi', contact: 'dana.adeyemi@example.com', inviteCode }));
  await expect(conversations(dana)).toHaveCount(0);

  // Sam gives her all his conversations: the one he has reaches her at once.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('link', { name: 'People who help me' }).click();
  const row = page.getByRole('list', { name: 'Your caregivers' }).getByRole('listitem').filter({ hasText: 'Dana Adeyemi' });
  const scope = row.getByRole('group', { name: 'Which conversations Dana Adeyemi sees' });
  await expect(scope.getByRole('radio', { name: 'Only the ones I choose' })).toBeChecked();
  await scope.getByRole('radio', { name: /^All my conversations/ }).check();
  await expect(page.getByRole('status').filter({ hasText: 'Dana Adeyemi now sees all your conversations' })).toBeVisible();
  await expect(row).toContainText('Reads and sends in all your conversations but confidential ones and those you keep Only me');
  await expect(conversations(dana)).toHaveCount(1);
  await expect(conversations(dana).first()).toContainText('Prescription refill');

  // A conversation Sam starts later reaches her too, without his asking.
  await page.getByRole('link', { name: 'Back to messages' }).click();
  const later = 'Can I move my Tuesday appointment?';
  await write('Appointment', later);
  await expect(conversations(dana)).toHaveCount(2);
  await conversations(dana).filter({ hasText: 'Appointment' }).click();
  await expect(dana.getByRole('listitem').filter({ hasText: later })).toContainText('Sam Adeyemi');
  await dana.getByRole('link', { name: 'Security' }).click();
  await dana.getByRole('link', { name: 'People who help me' }).click();
  await expect(dana.getByRole('listitem').filter({ hasText: 'Sam Adeyemi' }))
    .toContainText("all of Sam Adeyemi's conversations but confidential ones and those they keep to themselves");
  await dana.getByRole('link', { name: 'Back to messages' }).click();
  await conversations(dana).filter({ hasText: 'Appointment' }).click();
  await expect(dana.getByRole('listitem').filter({ hasText: later })).toBeVisible();

  // In that conversation, "Only me" is how Sam keeps it from her: there is
  // no "Stop sharing" for someone who sees everything.
  await conversations(page).filter({ hasText: 'Appointment' }).click();
  await page.getByText('Who can see this conversation').click();
  const helpers = page.getByRole('list', { name: 'Your caregivers and this conversation' });
  await expect(helpers.getByRole('listitem').filter({ hasText: 'Dana Adeyemi' })).toContainText('Sees all your conversations, this one too');
  await expect(page.getByRole('button', { name: 'Stop sharing with Dana Adeyemi' })).toHaveCount(0);
  await page.getByRole('checkbox', { name: 'Only me: never share this conversation with a caregiver' }).check();
  await expect(page.getByRole('status').filter({ hasText: 'Dana Adeyemi can no longer read it' })).toBeVisible();
  // Her open conversation is gone from her screen, and from her list.
  await expect(dana.getByRole('alert').filter({ hasText: 'Your access to these messages has ended.' })).toBeVisible();
  await expect(dana.getByText(later)).toHaveCount(0);
  await dana.getByRole('link', { name: 'Back to your messages' }).click();
  await expect(conversations(dana)).toHaveCount(1);
  await expect(conversations(dana).first()).toContainText('Prescription refill');
  await phone.close();
});
