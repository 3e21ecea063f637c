// @ts-check
// Issue 19: every screen of Ward, and the states between them, in English
// and in Spanish. On each: `<html lang>` is the language shown, every text
// comes from that language's catalogue (no English left in Spanish, no
// hard-coded words in English), and axe (WCAG 2.2 A and AA) finds nothing
// in the light and the dark scheme at a 360 px phone and a 1280 px desktop.
//
// The walk: the welcome and code sign-in screens; each step of enrolling
// (a wrong code and a wrong recovery check among them); home; a new
// message with the emergency warning, a refused file and a file attached;
// the conversation with the file and the clinic's quick replies; offline;
// search; Settings → Security; People who help me; the sign-out question;
// the lock screen; Ward unable to reach its relay; and the passkey window
// opened on its own. Then Settings' own states (the authenticator app
// set up, a wrong code, renaming a passkey, a caregiver invite refused and
// made, who can see a conversation), a caregiver's screens, and a new
// device unlocking with the recovery code. embedding.spec.js checks the screens inside a
// clinic's frame, layout.spec.js reflow, text size, spacing, targets and
// motion, keyboard.spec.js the keyboard alone.
const { test, expect } = require('@playwright/test');
const s = require('../support');
const { wordsIn, notFromCatalogue } = require('../catalogue');

/**
 * What each language's walk types, and what its clinic says (the relay
 * `cargo xtask` starts gives the demo clinic's emergency notice in both).
 */
const people = {
  en: {
    locale: 'en-US', name: 'Rosa Quintero', contact: 'rosa.a11y@example.com',
    chestPain: 'I have chest pain. Should I still take my pills?',
    message: 'My old prescription is attached',
    reply: 'Thank you, we have it. Shall we send it to your pharmacy?',
    quick: ['Yes please', 'No, I will pick it up'],
    search: 'pharmacy',
    emergency: "If this is an emergency, call 911. For a mental health crisis, call or text 988 (Riverside's demo notice).",
  },
  es: {
    locale: 'es-MX', name: 'Lucía Fernández', contact: 'lucia.a11y@example.com',
    chestPain: 'Tengo dolor de pecho. ¿Sigo tomando las pastillas?',
    message: 'Le adjunto mi receta anterior',
    reply: 'Gracias, la recibimos. ¿La enviamos a su farmacia?',
    quick: ['Sí, por favor', 'No, la recojo yo'],
    search: 'farmacia',
    emergency: 'Si es una emergencia, llame al 911. Si tiene una crisis de salud mental, llame o envíe un mensaje de texto al 988 (aviso de demostración de Riverside).',
  },
};

for (const lang of /** @type {const} */ (['en', 'es'])) {
  const who = people[lang];
  const say = wordsIn(lang);

  test.describe(`in ${lang}`, () => {
    test.use({ locale: who.locale });

    /**
     * The screen shown now: in `lang`, every text from the catalogue, axe
     * clean every way.
     * @param {import('@playwright/test').Page} page
     * @param {string} label
     * @param {string[]} typed what the test typed, the relay or the clinic named
     */
    async function check(page, label, typed) {
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      expect(await notFromCatalogue(page, lang, typed), `${label}: every text from the catalogue (${lang})`).toEqual([]);
      await s.axeEveryWay(page, `${label} (${lang})`);
    }

    /**
     * The lines of a region holding the clinic's own words (its consent
     * text), which pass the catalogue check as the clinic's.
     * @param {import('@playwright/test').Page} page
     * @param {string} name the region's name, in English
     */
    async function clinicLines(page, name) {
      const text = await page.getByRole('region', { name: say(name) }).innerText();
      return text.split('\n').map((line) => line.trim()).filter(Boolean);
    }

    /**
     * The caregiver terms shown, which are the clinic's words too, in the
     * language shown (the relay has its default terms in Spanish).
     * @param {import('@playwright/test').Page} page
     */
    async function caregiverTerms(page) {
      const lines = await clinicLines(page, 'The caregiver terms');
      expect(lines[0]).toBe(lang === 'es' ? 'Permitir que alguien le ayude con sus mensajes' : 'Letting someone help you with your messages');
      return lines;
    }

    test(`every screen and state, in ${lang}: every text from the catalogue, axe clean light and dark at 360 and 1280 px`, async ({ page, context, request }) => {
      test.setTimeout(300_000);
      const typed = [who.name, who.contact, 'Riverside Clinic', 'Test phone', who.chestPain, who.message, who.reply, ...who.quick, 'old-prescription.pdf', 'empty.pdf', who.emergency];

      await page.goto('/');
      await expect(page.getByRole('heading', { level: 1, name: say('Messages with your care team') })).toBeVisible();
      await check(page, 'welcome', typed);
      await page.goto('/sign-in/code');
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await check(page, 'code sign-in', typed);

      // Each step of enrolling, a wrong code and a wrong recovery check
      // among them. The consent text and the code are the clinic's and
      // the app's own words, not the catalogue's.
      await s.addAuthenticator(page, { prf: true });
      const shown = [];
      const at = async (/** @type {string} */ step) => {
        if (step === 'consent') typed.push(...await clinicLines(page, "The clinic's consent text"));
        if (step === 'invitation') shown.push(await page.getByLabel(say('Invitation code')).inputValue());
        if (step === 'recovery code') {
          shown.push(...(await page.getByLabel(say('Your recovery code'), { exact: true }).innerText()).trim().split(/\s+/));
        }
        await check(page, `enrolling: ${step}`, [...typed, ...shown]);
      };
      const recovery = await s.enrollThroughScreens(page, request, {
        name: who.name, contact: who.contact, wrongCodeFirst: true, at, lang,
      });
      await s.confirmRecoveryCode(page, recovery, { wrongFirst: true, at, lang });
      await expect(page.getByRole('heading', { level: 1, name: say('Messages with your care team') })).toBeVisible();
      await check(page, 'home', typed);

      // A new message: the emergency warning the on-device check shows
      // before sending, a file refused, then one attached.
      await page.getByRole('link', { name: say('New message') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('New message') })).toBeVisible();
      await check(page, 'new message', typed);
      await page.getByRole('radio', { name: say('Prescription refill') }).check();
      const composer = page.getByRole('textbox', { name: say('Message') });
      await composer.fill(who.chestPain);
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      await expect(page.getByRole('alert').filter({ hasText: who.emergency }), "the clinic's own notice, in the language shown").toBeVisible();
      await check(page, 'the emergency warning', typed);
      await composer.fill(who.message);
      await s.attachFile(page, { name: 'empty.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(0) }, lang);
      await expect(page.getByRole('alert')).toContainText(say('“{name}” is empty (0 bytes). Choose the file again, or another one.', { name: 'empty.pdf' }));
      await check(page, 'a refused file', typed);
      await s.attachFile(page, { name: 'old-prescription.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a prescription\n') }, lang);
      await expect(page.getByRole('group', { name: say('Attached file') })).toContainText('old-prescription.pdf');
      await check(page, 'a file attached', typed);

      // The conversation, with the file and the clinic's quick replies.
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      const sent = page.getByRole('listitem').filter({ hasText: who.message });
      await expect(sent).toContainText('old-prescription.pdf');
      await expect(sent).toContainText(new RegExp(['Sent', 'Delivered', 'Read'].map((w) => say(w)).join('|')), { timeout: 30_000 });
      const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
      s.clinic('reply', threadId, who.reply, '--quick-reply', who.quick[0], '--quick-reply', who.quick[1]);
      await expect(page.getByRole('group', { name: say('Quick replies') })).toBeVisible();
      await expect(page.getByText(who.reply)).toBeVisible();
      await check(page, 'a conversation with a file and quick replies', typed);

      // Offline: said at once.
      const offline = page.getByRole('status').filter({ hasText: say('You are offline. Messages you write wait on this device and go when you are back online.') });
      await context.setOffline(true);
      await expect(offline).toBeVisible();
      await check(page, 'offline', typed);
      await context.setOffline(false);
      await expect(offline).toHaveCount(0);

      const main = page.getByRole('navigation', { name: say('Main') });
      await main.getByRole('link', { name: say('Messages') }).click();
      await expect(page.getByRole('list', { name: say('Conversations') })).toBeVisible();
      await check(page, 'home, a conversation', typed);
      await page.getByRole('link', { name: say('Search'), exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Search messages') })).toBeVisible();
      await page.getByRole('searchbox').or(page.getByRole('textbox')).first().fill(who.search);
      await expect(page.getByText(who.reply).first()).toBeVisible();
      await check(page, 'search', [...typed, who.search]);

      await main.getByRole('link', { name: say('Security') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Security') })).toBeVisible();
      await check(page, 'Settings, Security', typed);
      await page.getByRole('link', { name: say('People who help me') }).first().click();
      await expect(page.getByRole('heading', { level: 1, name: say('People who help me') })).toBeVisible();
      typed.push(...await caregiverTerms(page));
      await check(page, 'People who help me', typed);

      // The sign-out question.
      await main.getByRole('button', { name: say('Sign out'), exact: true }).click();
      const question = page.getByRole('alertdialog', { name: say('Sign out of Ward on this device?') });
      await expect(question).toBeVisible();
      await check(page, 'the sign-out question', typed);
      await question.getByRole('button', { name: say('Stay signed in') }).click();
      await expect(question).toBeHidden();

      await page.getByRole('button', { name: say('Lock now') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Ward is locked') })).toBeVisible();
      await check(page, 'locked', typed);

      // The relay out of reach: Ward starts and says so.
      const relay = /\/(v1\/|healthz)/;
      await page.route(relay, (route) => route.abort('connectionrefused'));
      await page.reload();
      await expect(page.locator('.relay-status')).toHaveText(say("Can't reach Ward. Check that you are online, then try again."));
      await check(page, "Ward can't reach its relay", typed);
      await page.unroute(relay);
    });

    test(`Settings' own states, a caregiver's screens and a new device, in ${lang}: every text from the catalogue, axe clean`, async ({ page, browser, request }) => {
      test.setTimeout(300_000);
      const patient = lang === 'es' ? 'Sara Ortega' : 'Sam Okafor';
      const helper = lang === 'es' ? 'Daniela Ortega' : 'Dana Okafor';
      const contact = `sam.states.${lang}@example.com`;
      const helperContact = `dana.states.${lang}@example.com`;
      const first = lang === 'es' ? 'Daniela me ayudará con las citas.' : 'Dana will help me with my appointments.';
      const typed = [patient, helper, contact, helperContact, 'Riverside Clinic', 'Test phone', first, who.emergency];
      const phone = await s.addAuthenticator(page, { prf: true });
      // The clinic's consent text, in its own words, shows again in Settings.
      const at = async (/** @type {string} */ step) => {
        if (step === 'consent') typed.push(...await clinicLines(page, "The clinic's consent text"));
      };
      const recovery = await s.enrollThroughScreens(page, request, { name: patient, contact, lang, at });
      await s.confirmRecoveryCode(page, recovery, { lang });
      const main = page.getByRole('navigation', { name: say('Main') });

      // Security: setting up the authenticator app, a wrong code, renaming a passkey.
      await main.getByRole('link', { name: say('Security') }).click();
      await page.getByRole('button', { name: say('Set up an authenticator app') }).click();
      await expect(page.getByRole('img', { name: say('QR code for your authenticator app') })).toBeVisible();
      const secret = (await page.getByTestId('totp-secret').innerText()).trim();
      const otpauth = (await page.getByTestId('otpauth-uri').textContent() ?? '').trim();
      await check(page, 'Settings, the authenticator app set up', [...typed, secret, otpauth]);
      await page.getByLabel(say('Code from the app')).fill(s.totp(secret) === '000000' ? '111111' : '000000');
      await page.getByRole('button', { name: say('Turn on') }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await check(page, 'Settings, a wrong authenticator code', [...typed, secret, otpauth]);
      await page.getByRole('button', { name: say('Rename {name}', { name: 'Test phone' }) }).click();
      await expect(page.getByLabel(say('New name'))).toBeVisible();
      await check(page, 'Settings, renaming a passkey', typed);

      // People who help me: a refused invite, then one made.
      await page.getByRole('link', { name: say('People who help me') }).first().click();
      await expect(page.getByRole('heading', { level: 1, name: say('People who help me') })).toBeVisible();
      typed.push(...await caregiverTerms(page));
      await page.getByLabel(say('Their name')).fill(helper);
      await page.getByRole('button', { name: say('Invite'), exact: true }).click();
      await expect(page.getByRole('alert')).toContainText(say('Enter their name and their e-mail address or mobile number.'));
      await check(page, 'People who help me, an invite refused', typed);
      await page.getByLabel(say('Their e-mail address or mobile number')).fill(helperContact);
      await page.getByRole('button', { name: say('Invite'), exact: true }).click();
      const made = page.getByRole('status').filter({ hasText: say('Invite for {name} made. Send them this link; it works for a limited time:', { name: helper }) });
      await expect(made).toBeVisible();
      const link = (await made.locator('code').innerText()).trim();
      const inviteCode = decodeURIComponent(link.split('#invite=')[1]);
      await check(page, 'People who help me, an invite made', [...typed, link, inviteCode]);

      // The caregiver, on her own phone, in the same language.
      const herPhone = await browser.newContext({ locale: who.locale, viewport: { width: 360, height: 740 } });
      const her = await herPhone.newPage();
      await s.addAuthenticator(her, { prf: true });
      const herRecovery = await s.enrollThroughScreens(her, request, { name: helper, contact: helperContact, inviteCode, lang });
      await s.confirmRecoveryCode(her, herRecovery, { lang });

      // A conversation, and who can see it.
      await main.getByRole('link', { name: say('Messages') }).click();
      await page.getByRole('link', { name: say('New message') }).click();
      await page.getByRole('radio', { name: say('Question for my care team') }).check();
      await page.getByRole('textbox', { name: say('Message') }).fill(first);
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      await expect(page.getByRole('listitem').filter({ hasText: first })).toContainText(new RegExp(['Sent', 'Delivered', 'Read'].map((w) => say(w)).join('|')));
      await page.getByText(say('Who can see this conversation')).click();
      await expect(page.getByRole('list', { name: say('Your caregivers and this conversation') })).toBeVisible();
      await check(page, 'a conversation, who can see it', typed);
      await page.getByRole('button', { name: say('Share with {name}', { name: helper }) }).click();
      await expect(her.getByRole('list', { name: say('Conversations') }).getByRole('link')).toHaveCount(1);
      await check(her, "a caregiver's home", typed);
      await her.getByRole('navigation', { name: say('Main') }).getByRole('link', { name: say('Security') }).click();
      await her.getByRole('link', { name: say('People who help me') }).first().click();
      await expect(her.getByRole('heading', { level: 2, name: say('People you help') })).toBeVisible();
      await check(her, "a caregiver's People who help me", typed);
      await herPhone.close();

      // A new device: the passkey synced, no PRF, so the recovery code
      // unlocks it; a wrong one first.
      const newDevice = await browser.newContext({ locale: who.locale, viewport: { width: 360, height: 740 } });
      const other = await newDevice.newPage();
      await other.goto('/');
      const second = await s.addAuthenticator(other, { prf: false });
      expect(await s.syncPasskeys(phone, second)).toBe(1);
      await other.getByRole('button', { name: say('Sign in with a passkey') }).click();
      await expect(other.getByRole('heading', { level: 1, name: say('Unlock on this device') })).toBeVisible();
      // The field's placeholder is the code's shape, the same in every language.
      typed.push('XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX');
      await check(other, 'a new device: the recovery code', typed);
      await other.getByLabel(say('Recovery code')).fill('ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ');
      await other.getByRole('button', { name: say('Unlock') }).click();
      await expect(other.getByRole('alert')).toBeVisible();
      await check(other, 'a new device: a wrong recovery code', [...typed, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ']);
      await newDevice.close();
    });

    test(`the passkey window, opened on its own, in ${lang}`, async ({ page }) => {
      await page.goto('/passkey-window');
      await expect(page.getByRole('heading', { level: 1, name: say('Nothing to do here') })).toBeVisible();
      await check(page, 'the passkey window', []);
    });
  });
}
