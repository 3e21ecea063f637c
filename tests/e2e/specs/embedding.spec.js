// @ts-check
// Ward inside a clinic's website (docs/embedding.md): the example clinic
// site (`examples/clinic-site/`, served by `cargo xtask test` at
// http://127.0.0.1:PORT, another site than Ward's http://localhost:PORT)
// embeds Ward with the documented snippet; a site not in the relay's
// `frame_ancestors` cannot.
const { test, expect } = require('@playwright/test');

const site = process.env.WARD_CLINIC_SITE;
const ward = new URL(process.env.WARD_URL ?? '').origin;

test("the example clinic site embeds Ward from another site with the documented snippet", async ({ page }) => {
  if (!site) throw new Error('WARD_CLINIC_SITE is not set: run these tests with `cargo xtask test`');
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const script = page.waitForResponse((response) => response.url() === `${ward}/embed/v1.js`);
  await page.goto(site);
  await expect(page.getByRole('heading', { level: 1, name: 'Riverside Clinic' })).toBeVisible();

  // The script, with its integrity hash checked by the browser, made the frame.
  const served = await script;
  expect(served.status()).toBe(200);
  expect(served.headers()['access-control-allow-origin']).toBe('*');
  expect(served.headers()['cross-origin-resource-policy']).toBe('cross-origin');
  const frame = page.locator('iframe[title="Ward: messages with Riverside Clinic"]');
  await expect(frame).toHaveAttribute('src', `${ward}/`);
  const allow = await frame.getAttribute('allow');
  expect(allow).toContain('publickey-credentials-get');
  expect(allow).toContain('publickey-credentials-create');

  // Ward itself, inside, working: its first screen and its link to the relay.
  const inside = page.frameLocator('iframe[title="Ward: messages with Riverside Clinic"]');
  await expect(inside.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(inside.locator('.relay-status')).toHaveText('Connected securely to Ward.');
  // It fits a 360 px phone: the frame spans the page's width.
  const box = await frame.boundingBox();
  expect(box?.width).toBeGreaterThanOrEqual(320);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  expect(problems).toEqual([]);
});

test('a site that is not in frame_ancestors cannot frame Ward', async ({ page }) => {
  // Another origin (another port of the same host), not listed.
  const stranger = 'http://127.0.0.1:47811';
  await page.route(`${stranger}/`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Not a clinic</title><h1>Not a clinic</h1>
             <iframe src="${ward}/" title="Ward"></iframe>`,
    }),
  );
  // The page's load waits for its frame: Ward's document, or, refused,
  // the browser's error page in its place.
  await page.goto(`${stranger}/`);
  const urls = page.frames().map((frame) => frame.url());
  expect(urls, 'Ward never loads in the frame').not.toContain(`${ward}/`);
  expect(urls.some((url) => url.startsWith('chrome-error://')), `the frame was refused: ${urls}`).toBe(true);
  // The listed site's frame does load Ward (the first test), so this is the
  // list at work, not a frame that never loads.
  // Ward's own response says who may frame it.
  const response = await page.request.get(`${ward}/`);
  const csp = response.headers()['content-security-policy'] ?? '';
  expect(csp).toContain(`frame-ancestors 'self' ${site}`);
  expect(csp).not.toContain(stranger);
});
