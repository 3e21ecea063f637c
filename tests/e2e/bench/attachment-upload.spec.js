// @ts-check
// `cargo xtask bench` only (WARD_BENCH=1): a patient sends a 100 MB file.
// Times hashing, encrypting and uploading it in the browser (to a relay on
// this machine) and samples the memory of Chromium's renderer processes
// while it runs. Prints `BENCH` lines; asserts what was sent, not speed.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const s = require('../support');

const SIZE = 100 * 1000 * 1000;

/** The resident memory (KiB) of every Chromium renderer process now. */
function rendererRss() {
  let total = 0;
  let largest = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch { continue; }
    if (!cmdline.includes('chrom') || !cmdline.includes('--type=renderer')) continue;
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
      const kib = Number((/VmRSS:\s+(\d+)/.exec(status) ?? [])[1] ?? 0);
      total += kib;
      largest = Math.max(largest, kib);
    } catch { /* gone */ }
  }
  return { total, largest };
}

test('send a 100 MB attachment', async ({ page, request }) => {
  test.setTimeout(10 * 60_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Bench Uploader', contact: 'bench-upload@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('A big scan follows');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'A big scan follows' })).toContainText('Sent');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-bench-'));
  const file = path.join(dir, 'scan.pdf');
  fs.writeFileSync(file, crypto.randomBytes(SIZE));
  await s.attachFile(page, file);
  await expect(page.getByRole('group', { name: 'Attached file' })).toContainText('scan.pdf · 100.0 MB');
  await page.getByRole('textbox', { name: 'Message' }).fill('The 100 MB scan');

  const before = rendererRss();
  let peak = before;
  const sampler = setInterval(() => {
    const now = rendererRss();
    if (now.total > peak.total) peak = now;
  }, 50);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  let heapPeak = 0;
  const heapSampler = setInterval(async () => {
    try {
      const { metrics } = await cdp.send('Performance.getMetrics');
      const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
      heapPeak = Math.max(heapPeak, used);
    } catch { /* page busy */ }
  }, 100);

  const message = page.getByRole('listitem').filter({ hasText: 'The 100 MB scan' });
  const started = Date.now();
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(message.getByText(/^Encrypting and uploading/)).toBeVisible({ timeout: 120_000 });
  const hashed = Date.now();
  await expect(message).toContainText('Sent', { timeout: 8 * 60_000 });
  const done = Date.now();
  clearInterval(sampler);
  clearInterval(heapSampler);
  fs.rmSync(dir, { recursive: true, force: true });

  const mb = SIZE / 1e6;
  const total = (done - started) / 1000;
  const upload = (done - hashed) / 1000;
  console.log(`BENCH attachment 100 MB: hash (SHA-256, read by Blob.slice) ${((hashed - started) / 1000).toFixed(1)} s (${(mb / ((hashed - started) / 1000)).toFixed(0)} MB/s)`);
  console.log(`BENCH attachment 100 MB: encrypt + upload to a relay on this machine ${upload.toFixed(1)} s (${(mb / upload).toFixed(0)} MB/s); whole send ${total.toFixed(1)} s (${(mb / total).toFixed(0)} MB/s)`);
  console.log(`BENCH attachment 100 MB: Chromium renderer memory (RSS, all renderers) ${(before.total / 1024).toFixed(0)} MiB before, peak ${(peak.total / 1024).toFixed(0)} MiB during (+${((peak.total - before.total) / 1024).toFixed(0)} MiB); largest renderer peak ${(peak.largest / 1024).toFixed(0)} MiB`);
  console.log(`BENCH attachment 100 MB: JS heap used, peak ${(heapPeak / 1048576).toFixed(0)} MiB`);
});
