// @ts-check
// The built client, served by the real relay, loads under the relay's strict
// Content Security Policy and reaches the relay's API.
const { test, expect } = require('@playwright/test');

test('the client loads from the relay and reports it is connected', async ({ page }) => {
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).not.toContain("'unsafe-inline'");

  await expect(page.getByRole('heading', { level: 1, name: 'Messages with your care team' })).toBeVisible();
  await expect(page.locator('.relay-status')).toHaveText('Connected securely to Ward.');
  await expect(page.locator('#boot')).toHaveCount(0);
  await expect(page.getByRole('main')).toBeVisible();
  // A CSP violation or a wasm failure shows up as a console error.
  expect(problems).toEqual([]);
});

test('a deep link is served the client, not a 404', async ({ page }) => {
  const response = await page.goto('/threads/some-thread');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
});

test('the layout fits a 360 px phone without sideways scrolling', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.relay-status')).toHaveText('Connected securely to Ward.');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test('the skip link moves keyboard focus to the content', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.relay-status')).toHaveText('Connected securely to Ward.');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#main')).toBeFocused();
});

test('robots.txt, the icons and the cache rules are real: private pages, hashed files kept, index revalidated', async ({ request, page }) => {
  const robots = await request.get('/robots.txt');
  expect(robots.headers()['content-type']).toContain('text/plain');
  expect(await robots.text()).toBe('User-agent: *\nDisallow: /\n');
  for (const [file, type] of [['/favicon.ico', 'image/'], ['/icon-192.png', 'image/png'], ['/icon-512.png', 'image/png']]) {
    const icon = await request.get(file);
    expect(icon.status(), file).toBe(200);
    expect(icon.headers()['content-type'], file).toContain(type);
  }
  const index = await request.get('/');
  expect(index.headers()['cache-control']).toBe('no-cache');
  // The wasm and script the page loads are Trunk's hashed files, kept a year.
  const hashed = [];
  page.on('response', (response) => {
    if (/\/ward-[0-9a-f]{8,16}(_bg\.wasm|\.js)$/.test(new URL(response.url()).pathname)) hashed.push(response);
  });
  await page.goto('/');
  await expect(page.getByRole('main')).toBeVisible();
  expect(hashed.length).toBeGreaterThanOrEqual(2);
  for (const response of hashed) {
    expect((await response.allHeaders())['cache-control'], response.url()).toBe('public, max-age=31536000, immutable');
  }
});
