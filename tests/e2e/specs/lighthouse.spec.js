// @ts-check
// Lighthouse's accessibility category on the first screen, as a phone
// (Lighthouse's default form factor: a Moto G-sized screen, throttled),
// in English and in Spanish: score 1.00, every audit passed. Lighthouse
// (pinned in package.json) drives the same Debian Chromium as Playwright.
const { test, expect } = require('@playwright/test');
const { execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { promisify } = require('util');

for (const lang of ['en', 'es']) {
  test(`Lighthouse scores the first screen 1.00 for accessibility on a phone (${lang})`, async () => {
    test.setTimeout(180_000);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ward-lighthouse-')), 'report.json');
    await promisify(execFile)('npx', [
      '--no-install', 'lighthouse', new URL('/', /** @type {string} */ (process.env.WARD_URL)).href,
      '--only-categories=accessibility',
      // The browser's language chooses Ward's (src/i18n); headless Chromium
      // takes it from --accept-lang (--lang alone leaves it English).
      `--chrome-flags=--headless=new --no-sandbox --accept-lang=${lang}`,
      '--output=json', `--output-path=${out}`, '--quiet',
    ], { env: { ...process.env, CHROME_PATH: process.env.CHROMIUM }, timeout: 150_000 });
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(report.configSettings.formFactor).toBe('mobile');
    const failed = Object.values(report.audits)
      .filter((/** @type {any} */ a) => a.score !== null && a.score < 1)
      .map((/** @type {any} */ a) => `${a.id}: ${a.title}`);
    expect(failed).toEqual([]);
    expect(report.categories.accessibility.score).toBe(1);
  });
}
