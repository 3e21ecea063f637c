// @ts-check
// Issue 19, the layout half of WCAG 2.2 AA on every screen (axe, the other
// half, is accessibility.spec.js). On each screen a patient meets:
//
// * Reflow (1.4.10): at 320×640 CSS px nothing scrolls sideways and
//   nothing sticks out of the screen or is cut off sideways.
// * Resize text (1.4.4): with the browser's text size doubled (Chromium's
//   own setting, the default font 16 → 32 px, through CDP
//   Page.setFontSizes) at 360 px wide, the words do grow, nothing scrolls
//   sideways, and no text overflows or is cut off by its box.
// * Text spacing (1.4.12): with the WCAG text-spacing style (line height
//   1.5, letter 0.12em, word 0.16em, paragraphs 2em apart) nothing
//   overflows or is cut off either.
// * Target size (2.5.8): every visible control is at least 24×24 CSS px;
//   links inside a sentence are exempt (the inline exception).
// * Reduced motion (2.3.3 as the device asks): with prefers-reduced-motion
//   nothing animates and nothing has a transition longer than 0.01 s.
//
// Every offender is reported by its accessible name, so a failure says
// what to fix. Each screen in English and in Spanish (whose words are
// longer).
const { test, expect } = require('@playwright/test');
const s = require('../support');
const { wordsIn } = require('../catalogue');

/** The WCAG 1.4.12 text-spacing bookmarklet's style. */
const TEXT_SPACING = '* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important; }'
  + ' p { margin-bottom: 2em !important; }';

/**
 * Runs in the page: what breaks the layout now. Sideways scrolling of the
 * page, or of any box in it; a page that cannot scroll with content below
 * its bottom edge; anything visible that sticks out of the screen
 * sideways (inside a box that scrolls sideways, the box is named instead);
 * any box that cuts off its own content (overflow hidden or clip, wider or
 * taller inside than out); any box whose content runs out of it sideways.
 * Boxes hidden on purpose (the visually-hidden text for screen readers,
 * the skip link until focused) are left out.
 * @returns {string[]}
 */
function layoutProblems() {
  /** @param {Element} el */
  const named = (el) => {
    const label = el.getAttribute('aria-label') || /** @type {HTMLElement} */ (el).innerText || el.textContent || '';
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    return `<${el.tagName.toLowerCase()}${cls}> "${label.trim().replace(/\s+/g, ' ').slice(0, 50)}"`;
  };
  /** @param {Element} el */
  const hiddenOnPurpose = (el) => Boolean(el.closest('.visually-hidden, .skip-link:not(:focus), [hidden], [aria-hidden="true"]'));
  /** @param {Element} el */
  const inSidewaysScroller = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x === 'auto' || x === 'scroll') return true;
    }
    return false;
  };
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) out.push(`the page scrolls sideways (${root.scrollWidth} px in ${root.clientWidth} px)`);
  // A page that does not scroll (the thread screen: only its messages
  // scroll) must fit: whatever is below its bottom edge is lost.
  const viewport = getComputedStyle(root).overflowY === 'visible' ? getComputedStyle(document.body).overflowY : getComputedStyle(root).overflowY;
  if ((viewport === 'hidden' || viewport === 'clip') && root.scrollHeight > root.clientHeight + 1) {
    out.push(`the page is cut off at the bottom and cannot scroll (${root.scrollHeight} px in ${root.clientHeight} px)`);
  }
  const width = root.clientWidth;
  for (const el of document.body.querySelectorAll('*')) {
    if (hiddenOnPurpose(el)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if ((box.right > width + 1 || box.left < -1) && !inSidewaysScroller(el) && style.position !== 'fixed') {
      out.push(`${named(el)} sticks out of the screen (${Math.round(box.left)}..${Math.round(box.right)} of ${width} px)`);
    }
    // Inline boxes have no size of their own to overflow; a field scrolls
    // the text typed into it by itself.
    if (style.display === 'inline' || el.closest('svg') || el.matches('input, textarea, select')) continue;
    const cuts = (/** @type {string} */ v) => v === 'hidden' || v === 'clip';
    // A one-line preview of a message, shortened on purpose: the whole
    // message is one tap away, in its conversation.
    const preview = style.textOverflow === 'ellipsis' && el.matches('.thread-row .preview');
    if (!preview && cuts(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${named(el)} cuts its content off sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
    if (cuts(style.overflowY) && el.scrollHeight > el.clientHeight + 1) {
      out.push(`${named(el)} cuts its content off at the bottom (${el.scrollHeight} px in ${el.clientHeight} px)`);
    }
    if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${named(el)} scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
    if (style.overflowX === 'visible' && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${named(el)}: its content runs out of it sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
  }
  return out;
}

/**
 * Runs in the page: each visible control smaller than 24×24 CSS px, by
 * accessible name. A link inside a sentence is exempt (2.5.8's inline
 * exception); a file input hidden behind its label is measured by its
 * label, the target a person taps.
 * @returns {string[]}
 */
function smallTargets() {
  /** @param {Element} el */
  const nameOf = (el) => {
    const by = el.getAttribute('aria-labelledby');
    const labels = /** @type {HTMLInputElement} */ (el).labels;
    return (el.getAttribute('aria-label')
      || (by && by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' '))
      || (labels && labels.length ? labels[0].textContent : '')
      || /** @type {HTMLElement} */ (el).innerText
      || el.getAttribute('title') || el.getAttribute('placeholder') || /** @type {HTMLInputElement} */ (el).value || '')
      .trim().replace(/\s+/g, ' ');
  };
  const out = [];
  const controls = document.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="button"], [tabindex]:not([tabindex="-1"])');
  for (const control of controls) {
    /** @type {Element} */
    let target = control;
    if (control.closest('.visually-hidden')) {
      const labels = /** @type {HTMLInputElement} */ (control).labels;
      if (!labels || labels.length === 0) continue;
      target = labels[0];
    }
    if (target.closest('[hidden], [aria-hidden="true"]')) continue;
    const style = getComputedStyle(target);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width >= 24 - 0.01 && box.height >= 24 - 0.01) continue;
    // Inline: a link in running text, whose size the sentence sets.
    if (target.tagName === 'A' && style.display === 'inline') {
      const block = target.parentElement;
      const around = (block?.textContent ?? '').replace(/\s+/g, '').length;
      const own = (target.textContent ?? '').replace(/\s+/g, '').length;
      if (around > own) continue;
    }
    out.push(`${target.tagName.toLowerCase()} "${nameOf(control).slice(0, 60)}" is ${box.width.toFixed(1)}×${box.height.toFixed(1)} px`);
  }
  return out;
}

/**
 * Runs in the page (with prefers-reduced-motion: reduce): whatever still
 * moves. Running animations (Web Animations, CSS animations and
 * transitions alike), and any element or ::before/::after whose transition
 * or animation lasts longer than 0.01 s, and smooth scrolling.
 * @returns {string[]}
 */
function motion() {
  const seconds = (/** @type {string} */ list) => Math.max(...list.split(',').map((v) => {
    const n = parseFloat(v);
    return v.trim().endsWith('ms') ? n / 1000 : n;
  }));
  const out = [];
  for (const animation of document.getAnimations()) {
    if (animation.playState !== 'running') continue;
    const target = /** @type {KeyframeEffect} */ (animation.effect)?.target;
    out.push(`a running animation on <${target?.tagName.toLowerCase()}${target && target.className ? `.${String(target.className).split(' ').join('.')}` : ''}>`);
  }
  for (const el of [document.documentElement, ...document.body.querySelectorAll('*')]) {
    for (const pseudo of [null, '::before', '::after']) {
      const style = getComputedStyle(el, pseudo);
      const where = `<${el.tagName.toLowerCase()}${typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}>${pseudo ?? ''}`;
      if (style.transitionProperty !== 'none' && seconds(style.transitionDuration) > 0.01) out.push(`${where} has a ${style.transitionDuration} transition`);
      if (style.animationName !== 'none' && seconds(style.animationDuration) > 0.01) out.push(`${where} has a ${style.animationDuration} animation`);
      if (pseudo === null && style.scrollBehavior === 'smooth') out.push(`${where} scrolls smoothly`);
    }
  }
  return out;
}

/** Font sizes (px) of the elements that hold text of their own, in document order. */
function textSizes() {
  const sizes = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.visually-hidden, [hidden]')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim());
    if (!own) continue;
    const name = `<${el.tagName.toLowerCase()}> "${(el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
    sizes.push({ name, px: parseFloat(getComputedStyle(el).fontSize) });
  }
  return sizes;
}

/** The next two frames: the layout after a change has settled. */
const settle = (/** @type {import('@playwright/test').Page} */ page) =>
  page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(undefined)))));

/** @type {WeakMap<import('@playwright/test').Page, import('@playwright/test').CDPSession>} */
const sessions = new WeakMap();

/**
 * Every check on the screen shown now, as soft assertions (so one run
 * names every offender on every screen). Leaves the page as it found it:
 * 360×740, the default text size, no added style, motion as the device's.
 * @param {import('@playwright/test').Page} page
 * @param {string} screen
 */
async function checkLayout(page, screen) {
  // One DevTools session a page, kept: detaching one would end the page's
  // virtual authenticator with it (Chromium drops them per frame).
  let cdp = sessions.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    sessions.set(page, cdp);
  }
  try {
    // Reflow: a 320 px wide screen (1280 px at 400 %).
    await page.setViewportSize({ width: 320, height: 640 });
    await settle(page);
    expect.soft(await page.evaluate(layoutProblems), `${screen}: reflow at 320×640`).toEqual([]);

    // 200 % text, as the browser's text size setting makes it.
    await page.setViewportSize({ width: 360, height: 740 });
    await settle(page);
    const before = await page.evaluate(textSizes);
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32, fixed: 26 } });
    await settle(page);
    const after = await page.evaluate(textSizes);
    const was = new Map(before.map((size) => [size.name, size.px]));
    const notGrown = after
      .filter((size) => was.has(size.name) && size.px < /** @type {number} */ (was.get(size.name)) * 1.9)
      .map((size) => `${size.name} ${was.get(size.name)} → ${size.px} px`);
    expect.soft(notGrown, `${screen}: every text doubles with the browser's text size`).toEqual([]);
    expect.soft(await page.evaluate(layoutProblems), `${screen}: 200 % text at 360 px`).toEqual([]);
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16, fixed: 13 } });

    // Text spacing.
    // (A constructed style sheet: Ward's CSP refuses a <style> element.)
    await page.evaluate((css) => {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }, TEXT_SPACING);
    await settle(page);
    expect.soft(await page.evaluate(layoutProblems), `${screen}: WCAG text spacing at 360 px`).toEqual([]);
    await page.evaluate(() => { document.adoptedStyleSheets = document.adoptedStyleSheets.slice(0, -1); });
    await settle(page);

    // Target size, on a phone and on a desktop.
    expect.soft(await page.evaluate(smallTargets), `${screen}: targets at 360 px`).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 800 });
    await settle(page);
    expect.soft(await page.evaluate(smallTargets), `${screen}: targets at 1280 px`).toEqual([]);
    await page.setViewportSize({ width: 360, height: 740 });

    // Reduced motion.
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await settle(page);
    expect.soft(await page.evaluate(motion), `${screen}: nothing moves with reduced motion`).toEqual([]);
  } finally {
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16, fixed: 13 } });
    await page.emulateMedia({ reducedMotion: null });
    await page.setViewportSize({ width: 360, height: 740 });
    await settle(page);
  }
}

for (const lang of /** @type {const} */ (['en', 'es'])) {
  const say = wordsIn(lang);
  test.describe(`in ${lang}`, () => {
    test.use({ locale: lang === 'es' ? 'es-MX' : 'en-US' });

    test(`every screen reflows at 320 px, takes 200 % text and WCAG text spacing, has 24 px targets and keeps still for reduced motion, in ${lang}`, async ({ page, context, request }) => {
      test.setTimeout(240_000);
      await page.goto('/');
      await expect(page.getByRole('heading', { level: 1, name: say('Messages with your care team') })).toBeVisible();
      await checkLayout(page, 'welcome');
      await page.goto('/sign-in/code');
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await checkLayout(page, 'code sign-in');

      // Each step of enrolling, a wrong code among them, and the recovery code.
      await s.addAuthenticator(page, { prf: true });
      const at = (/** @type {string} */ step) => checkLayout(page, step);
      const recovery = await s.enrollThroughScreens(page, request, {
        name: 'Rosa Layout-Quintero', contact: `rosa.layout.${lang}@example.com`, wrongCodeFirst: true, at, lang,
      });
      await s.confirmRecoveryCode(page, recovery, { wrongFirst: true, at, lang });
      await expect(page.getByRole('heading', { level: 1, name: say('Messages with your care team') })).toBeVisible();
      await checkLayout(page, 'home, empty');

      await page.getByRole('link', { name: say('New message') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('New message') })).toBeVisible();
      await checkLayout(page, 'new message');
      // Its errors and the emergency warning.
      const composer = page.getByRole('textbox', { name: say('Message') });
      await composer.fill('I have had chest pain since last night. Should I still take my pills?');
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      await expect(page.getByText(say('Choose what your message is about first.'))).toBeVisible();
      await checkLayout(page, 'new message, nothing chosen');
      await page.getByRole('radio', { name: say('Prescription refill') }).check();
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      await expect(page.getByRole('alert').filter({ hasText: '911' })).toBeVisible();
      await checkLayout(page, 'new message, the emergency warning');
      await page.getByLabel(say('Subject (optional)')).fill('Blood pressure pills and the lab results from the hospital');
      await composer.fill('My old prescription is attached. Can the pharmacy on Main Street have it ready by Thursday?');
      await s.attachFile(page, { name: 'old-prescription-from-the-hospital-pharmacy.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a prescription\n') }, lang);
      await expect(page.getByRole('group', { name: say('Attached file') })).toContainText('old-prescription');
      await checkLayout(page, 'new message, filled in with a file attached');
      await page.getByRole('button', { name: say('Send'), exact: true }).click();
      const sent = page.getByRole('listitem').filter({ hasText: 'My old prescription is attached' });
      await expect(sent).toContainText(new RegExp(['Sent', 'Delivered', 'Read'].map((w) => say(w)).join('|')), { timeout: 30_000 });
      const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
      s.clinic('reply', threadId, 'Thursday works. Your pharmacist will call when it is ready.',
        '--quick-reply', 'Thank you', '--quick-reply', 'Please call me instead');
      await expect(page.getByText('Thursday works.')).toBeVisible();
      await expect(page.getByRole('group', { name: say('Quick replies') })).toBeVisible();
      await checkLayout(page, 'a conversation with a file and quick replies');
      const offline = page.getByRole('status').filter({ hasText: say('You are offline. Messages you write wait on this device and go when you are back online.') });
      await context.setOffline(true);
      await expect(offline).toBeVisible();
      await checkLayout(page, 'a conversation, offline');
      await context.setOffline(false);
      await expect(offline).toHaveCount(0);

      await page.getByRole('link', { name: say('Back to messages') }).click();
      await expect(page.getByRole('list', { name: say('Conversations') })).toBeVisible();
      await checkLayout(page, 'home, a conversation');
      await page.getByRole('link', { name: say('Search'), exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Search messages') })).toBeVisible();
      await page.getByRole('searchbox').or(page.getByRole('textbox')).first().fill('pharmacy');
      await expect(page.getByText(/pharmacy/).first()).toBeVisible();
      await checkLayout(page, 'search');

      await page.getByRole('navigation', { name: say('Main') }).getByRole('link', { name: say('Security') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Security') })).toBeVisible();
      await checkLayout(page, 'Settings, Security');
      await page.getByRole('link', { name: say('People who help me') }).first().click();
      await expect(page.getByRole('heading', { level: 1, name: say('People who help me') })).toBeVisible();
      await checkLayout(page, 'People who help me');
      const nav = page.getByRole('navigation', { name: say('Main') });
      await nav.getByRole('button', { name: say('Sign out'), exact: true }).click();
      const confirm = page.getByRole('alertdialog', { name: say('Sign out of Ward on this device?') });
      await expect(confirm).toBeVisible();
      await checkLayout(page, 'the sign-out question');
      await confirm.getByRole('button', { name: say('Stay signed in') }).click();
      await expect(confirm).toBeHidden();

      await page.getByRole('button', { name: say('Lock now') }).click();
      await expect(page.getByRole('heading', { level: 1, name: say('Ward is locked') })).toBeVisible();
      await checkLayout(page, 'locked');
    });

    test(`the passkey window, opened on its own, reflows and takes big text, in ${lang}`, async ({ page }) => {
      await page.goto('/passkey-window');
      await expect(page.getByRole('heading', { level: 1, name: say('Nothing to do here') })).toBeVisible();
      await checkLayout(page, 'the passkey window');
    });
  });
}

test('the checks find what they look for', async ({ page }) => {
  // A page made of offenders (no app, no CSP): each check must name them,
  // so a screen that passes passes because it is right.
  await page.setContent(`<!doctype html><html><head><style>
      body { margin: 0; font: 100%/1.5 sans-serif; }
      .wide { width: 500px; }
      .cut { width: 100px; height: 1.5em; overflow: hidden; white-space: nowrap; }
      .px { font-size: 14px; }
      .small { width: 16px; height: 16px; padding: 0; }
      .moving { transition: opacity 0.3s; }
      @keyframes spin { to { transform: rotate(1turn); } }
      .spinning { animation: spin 1s infinite; }
    </style></head><body>
      <div class="wide">wide</div>
      <div style="overflow-x: auto; white-space: nowrap; width: 100px">a row of options that scrolls</div>
      <div class="cut">a sentence far too long for its box</div>
      <p class="px">fixed size</p>
      <p>grows</p>
      <button class="small" aria-label="Tiny"></button>
      <p>Read <a href="#a">the terms</a> first.</p>
      <p><a href="#b">Alone</a></p>
      <div class="moving spinning">moves</div>
    </body></html>`);
  await page.setViewportSize({ width: 320, height: 640 });
  const problems = await page.evaluate(layoutProblems);
  expect(problems.join('\n')).toContain('the page scrolls sideways');
  expect(problems.join('\n')).toContain('<div.wide> "wide" sticks out of the screen');
  expect(problems.join('\n')).toContain('<div.cut> "a sentence far too long for its box" cuts its content off sideways');
  expect(problems.join('\n')).toContain('<div> "a row of options that scrolls" scrolls sideways');
  const targets = await page.evaluate(smallTargets);
  expect(targets.join('\n')).toContain('button "Tiny" is 16.0×16.0 px');
  expect(targets.join('\n')).toContain('a "Alone"');
  expect(targets.join('\n'), 'a link in a sentence is exempt').not.toContain('the terms');
  const moving = await page.evaluate(motion);
  expect(moving.join('\n')).toContain('<div.moving.spinning> has a 0.3s transition');
  expect(moving.join('\n')).toContain('<div.moving.spinning> has a 1s animation');
  expect(moving.join('\n')).toContain('a running animation on <div.moving.spinning>');
  const before = await page.evaluate(textSizes);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32, fixed: 26 } });
  const after = await page.evaluate(textSizes);
  expect(before.find((t) => t.name.includes('fixed size'))?.px).toBe(14);
  expect(after.find((t) => t.name.includes('fixed size'))?.px, 'px text does not grow').toBe(14);
  expect(before.find((t) => t.name.includes('grows'))?.px).toBe(16);
  expect(after.find((t) => t.name.includes('grows'))?.px, 'the browser\'s text size doubles the rest').toBe(32);
});
