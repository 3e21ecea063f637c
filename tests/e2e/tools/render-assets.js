// Renders the install assets committed in public/ (run by hand after a
// change to an icon or to the screens shown in screenshots):
//   node tests/e2e/tools/render-assets.js [WARD_URL]
// With WARD_URL (a running `cargo xtask dev`), also the manifest's
// screenshots of the welcome screen, narrow and wide: no account, no PHI.
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const publicDir = path.join(__dirname, '..', '..', '..', 'public');

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 512, height: 512 } });
  const svg = fs.readFileSync(path.join(publicDir, 'icon-maskable.svg'), 'utf8');
  await page.setContent(`<html><body style="margin:0">${svg.replace('<svg ', '<svg width="512" height="512" ')}</body></html>`);
  await page.screenshot({ path: path.join(publicDir, 'icon-maskable-512.png'), clip: { x: 0, y: 0, width: 512, height: 512 } });
  const url = process.argv[2];
  if (url) {
    for (const [name, width, height] of [['screenshot-narrow.png', 360, 740], ['screenshot-wide.png', 1280, 800]]) {
      await page.setViewportSize({ width, height });
      await page.goto(url);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.screenshot({ path: path.join(publicDir, name) });
    }
  }
  await browser.close();
})();
