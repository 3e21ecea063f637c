// @ts-check
// Attachments end to end: a 20 MB document encrypted in the browser part
// by part, the connection dropped mid-upload and the upload resumed from
// the first missing part; the clinic agent decrypting it byte-identical;
// the clinic's PDF downloaded byte-identical by the patient; a photo
// cleaned of its location, previewed in the thread and opened full size;
// refusals; and no plaintext chunk anywhere in the relay's blob store.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const s = require('../support');

const data = /** @type {string} */ (process.env.WARD_DATA_DIR);
const CHUNK = 64 * 1024;

/** Every file under `dir`. */
function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/** Whether `haystack` contains the first 32 bytes of any of the 64 KiB chunks of `plaintext` (rolling hash, then compare). */
function containsAPlaintextChunk(haystack, plaintext) {
  const W = 32;
  const B = 257, M = 1_000_000_007;
  let pow = 1;
  for (let i = 0; i < W - 1; i++) pow = (pow * B) % M;
  const hashOf = (buf, at) => { let h = 0; for (let i = 0; i < W; i++) h = (h * B + buf[at + i]) % M; return h; };
  const wanted = new Map();
  for (let at = 0; at + W <= plaintext.length; at += CHUNK) wanted.set(hashOf(plaintext, at), at);
  if (haystack.length < W) return false;
  let h = hashOf(haystack, 0);
  for (let i = 0; ; i++) {
    const at = wanted.get(h);
    if (at !== undefined && haystack.subarray(i, i + W).equals(plaintext.subarray(at, at + W))) return true;
    if (i + W >= haystack.length) return false;
    h = (h - (haystack[i] * pow) % M + M) % M;
    h = (h * B + haystack[i + W]) % M;
  }
}

test('a 20 MB file survives a dropped connection; the clinic reads it and sends a PDF back; photos lose their location', async ({ page, request }) => {
  test.setTimeout(180_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Noor Haddad', contact: 'noor@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Question for my care team' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('I will send my outside lab results');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'I will send my outside lab results' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // Refused before anything is encrypted: an empty file, a kind the clinic does not take.
  await s.attachFile(page, { name: 'empty.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(0) });
  await expect(page.getByRole('alert')).toContainText('“empty.pdf” is empty (0 bytes).');
  await s.attachFile(page, { name: 'notes.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', buffer: Buffer.from('PK hello') });
  await expect(page.getByRole('alert')).toContainText('The clinic does not accept this kind of file (“notes.docx”).');

  // 20 MB, with the sixth part's first try cut off mid-flight.
  const file = crypto.randomBytes(20 * 1000 * 1000);
  const puts = [];
  let dropped = -1;
  await page.route('**/v1/uploads/*/parts/*', async (route) => {
    const index = Number(route.request().url().split('/').pop());
    puts.push(index);
    if (index === 5 && dropped < 0) {
      dropped = index;
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await s.attachFile(page, { name: 'lab-results.pdf', mimeType: 'application/pdf', buffer: file });
  await expect(page.getByRole('group', { name: 'Attached file' })).toContainText('lab-results.pdf · 20.0 MB');
  await page.getByRole('textbox', { name: 'Message' }).fill('Here are my results from the hospital');
  await page.getByRole('button', { name: 'Send' }).click();
  const message = page.getByRole('listitem').filter({ hasText: 'Here are my results from the hospital' });
  await expect(message.getByRole('progressbar', { name: 'Upload of lab-results.pdf' })).toBeVisible();
  await expect(message).toContainText('Waiting for a connection. The upload continues from');
  await expect(message).toContainText('Sent', { timeout: 60_000 });
  await expect(message.getByRole('progressbar')).toHaveCount(0);
  await expect(message).toContainText('lab-results.pdf');
  const parts = Math.ceil(file.length / (16 * CHUNK));
  expect(dropped).toBe(5);
  expect(puts.filter((i) => i === 5), 'the dropped part went again').toHaveLength(2);
  expect(puts.filter((i) => i < 5).sort((a, b) => a - b), 'parts already stored were not sent again').toEqual([0, 1, 2, 3, 4]);
  expect(new Set(puts).size).toBe(parts);
  await page.unroute('**/v1/uploads/*/parts/*');

  // The clinic agent decrypts it to a byte-identical file.
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-saved-'));
  const read = s.clinic('read', threadId, '--save-attachments', saved);
  expect(read).toContain('[attachment] lab-results.pdf (application/pdf, 20000000 bytes) saved to');
  expect(fs.readFileSync(path.join(saved, 'lab-results.pdf')).equals(file)).toBe(true);

  // The clinic sends an after-visit summary; the patient downloads it byte-identical.
  const summary = Buffer.concat([Buffer.from('%PDF-1.7\n% after-visit summary\n'), crypto.randomBytes(300 * 1024)]);
  const summaryPath = path.join(saved, 'after-visit-summary.pdf');
  fs.writeFileSync(summaryPath, summary);
  s.clinic('reply', threadId, 'Your after-visit summary is attached.', '--attach', summaryPath);
  const reply = page.getByRole('listitem').filter({ hasText: 'Your after-visit summary is attached.' });
  await expect(reply).toContainText('after-visit-summary.pdf');
  await expect(reply).toContainText('PDF document · 307 KB');
  const downloading = page.waitForEvent('download');
  await reply.getByRole('button', { name: 'Download after-visit-summary.pdf' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('after-visit-summary.pdf');
  const downloaded = path.join(saved, 'downloaded.pdf');
  await download.saveAs(downloaded);
  expect(fs.readFileSync(downloaded).equals(summary)).toBe(true);

  // A photo with GPS coordinates in its Exif: cleaned before encryption, previewed, opened full size.
  const photo = await page.evaluate(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 1200; canvas.height = 900;
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    g.fillStyle = '#c0392b'; g.fillRect(0, 0, 1200, 900);
    g.fillStyle = '#f5cba7'; g.beginPath(); g.arc(600, 450, 300, 0, Math.PI * 2); g.fill();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    return Array.from(new Uint8Array(await /** @type {Blob} */ (blob).arrayBuffer()));
  });
  const jpeg = Buffer.from(photo);
  // An Exif APP1 right after SOI: orientation 1 and a GPS IFD with a place in it.
  const tiff = Buffer.concat([
    Buffer.from('II*\0\x08\0\0\0', 'latin1'), Buffer.from([2, 0]),
    Buffer.from([0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0]),
    Buffer.from([0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]),
    Buffer.from([0, 0, 0, 0]), Buffer.from('GPSLatitude 40.7128 N GPSLongitude 74.0060 W', 'latin1'),
  ]);
  const app1Body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const app1 = Buffer.concat([Buffer.from([0xFF, 0xE1, (app1Body.length + 2) >> 8, (app1Body.length + 2) & 0xFF]), app1Body]);
  const withGps = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
  await s.attachFile(page, { name: 'rash.jpg', mimeType: 'image/jpeg', buffer: withGps });
  const chip = page.getByRole('group', { name: 'Attached file' });
  await expect(chip).toContainText('Location data removed from this photo before sending.');
  await expect(chip.locator('img.thumb')).toHaveJSProperty('complete', true);
  await page.getByRole('button', { name: 'Send' }).click();
  const photoMessage = page.locator('li.message').filter({ has: page.getByRole('button', { name: 'Open photo rash.jpg' }) });
  await expect(photoMessage).toContainText('Sent', { timeout: 30_000 });
  const thumb = photoMessage.locator('img.thumb');
  await expect.poll(() => thumb.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth)).toBe(320);
  await s.screenshot(page, '18-attachments');
  await photoMessage.getByRole('button', { name: 'Open photo rash.jpg' }).click();
  const viewer = page.getByRole('dialog', { name: 'rash.jpg' });
  const full = viewer.getByRole('img', { name: 'rash.jpg' });
  await expect.poll(() => full.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth)).toBe(1200);
  const url = await full.getAttribute('src');
  expect(url).toMatch(/^blob:/);
  await viewer.getByRole('button', { name: 'Close' }).click();
  await expect(viewer).toHaveCount(0);
  const revoked = await page.evaluate((u) => fetch(/** @type {string} */ (u)).then(() => false, () => true), url);
  expect(revoked, 'the decrypted photo is let go when closed').toBe(true);
  const clinicRead = s.clinic('read', threadId, '--save-attachments', saved);
  expect(clinicRead).toContain('[attachment] rash.jpg (image/jpeg');
  const cleaned = fs.readFileSync(path.join(saved, 'rash.jpg'));
  expect(cleaned.includes(Buffer.from('GPSLatitude'))).toBe(false);
  expect(cleaned.subarray(-1000).equals(jpeg.subarray(-1000)), 'the image data is untouched').toBe(true);

  // The blob store holds ciphertext only.
  const stored = filesUnder(path.join(data, 'blobs'));
  expect(stored.length).toBeGreaterThanOrEqual(parts);
  for (const f of stored) {
    const bytes = fs.readFileSync(f);
    expect(containsAPlaintextChunk(bytes, file), `${f} holds no plaintext chunk of the 20 MB file`).toBe(false);
    expect(containsAPlaintextChunk(bytes, summary), `${f} holds no plaintext chunk of the summary`).toBe(false);
  }
  // The harness would see one if it were there.
  expect(containsAPlaintextChunk(Buffer.concat([Buffer.from('xx'), file.subarray(CHUNK * 3, CHUNK * 4)]), file)).toBe(true);
});

test('an upload cut short by a closed tab finishes from where it stopped once the same file is chosen again', async ({ page, context, request }) => {
  test.setTimeout(120_000);
  const phone = await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Ines Moreau', contact: 'ines@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Scans from my last visit elsewhere');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Scans from my last visit elsewhere' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // The connection gives out after three parts; the tab is closed.
  const file = crypto.randomBytes(8 * 1000 * 1000);
  const stored = [];
  await page.route('**/v1/uploads/*/parts/*', async (route) => {
    const index = Number(route.request().url().split('/').pop());
    if (index >= 3) {
      await route.abort('connectionreset');
    } else {
      stored.push(index);
      await route.continue();
    }
  });
  await s.attachFile(page, { name: 'mri-report.pdf', mimeType: 'application/pdf', buffer: file });
  await page.getByRole('textbox', { name: 'Message' }).fill('My MRI report');
  await page.getByRole('button', { name: 'Send' }).click();
  const waiting = page.getByRole('listitem').filter({ hasText: 'My MRI report' });
  await expect(waiting).toContainText('Waiting for a connection. The upload continues from');
  expect(stored).toEqual([0, 1, 2]);
  const { credentials } = await phone.cdp.send('WebAuthn.getCredentials', { authenticatorId: phone.authenticatorId });
  await page.close();

  // Reopened: the message waits for its file.
  const reopened = await s.signInOnNewPage(context, credentials, recovery);
  await reopened.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  const message = reopened.getByRole('listitem').filter({ hasText: 'My MRI report' });
  await expect(message).toContainText('Ward was closed while “mri-report.pdf” was uploading. Choose the same file again to finish sending it.');
  const puts = [];
  reopened.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('/parts/')) puts.push(Number(r.url().split('/').pop())); });

  // Another file of the same size is not taken for it.
  const chooser = message.getByLabel('Choose the file again');
  await chooser.setInputFiles({ name: 'mri-report.pdf', mimeType: 'application/pdf', buffer: crypto.randomBytes(file.length) });
  await expect(message.getByRole('alert')).toContainText('That is not the same file as the one being sent');
  expect(puts).toEqual([]);

  await chooser.setInputFiles({ name: 'mri-report.pdf', mimeType: 'application/pdf', buffer: file });
  await expect(message).toContainText('Sent', { timeout: 60_000 });
  const parts = Math.ceil(file.length / (16 * CHUNK));
  expect(puts.sort((a, b) => a - b), 'only the parts the relay lacked, none encrypted twice').toEqual(
    Array.from({ length: parts - 3 }, (_, i) => i + 3));
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-saved-'));
  expect(s.clinic('read', threadId, '--save-attachments', saved)).toContain('[attachment] mri-report.pdf (application/pdf, 8000000 bytes) saved to');
  expect(fs.readFileSync(path.join(saved, 'mri-report.pdf')).equals(file)).toBe(true);
});

test('files come by drag and drop or paste; a send that never left the phone is retried with its file; Cancel stops an upload', async ({ page, request }) => {
  test.setTimeout(120_000);
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Omar Diallo', contact: 'omar@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Refill' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('About my refill');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'About my refill' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  const chip = page.getByRole('group', { name: 'Attached file' });

  // Dropped on the composer, then pasted into the message box.
  const dropped = await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['%PDF-1.7 dropped'], 'dropped.pdf', { type: 'application/pdf' }));
    const form = /** @type {HTMLFormElement} */ (document.querySelector('form.composer'));
    form.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    return form.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  expect(dropped, 'the drop was taken, not opened by the browser').toBe(false);
  await expect(chip).toContainText('dropped.pdf · 16 bytes');
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['%PDF-1.7 pasted!'], 'pasted.pdf', { type: 'application/pdf' }));
    document.querySelector('textarea')?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  await expect(chip).toContainText('pasted.pdf · 16 bytes');
  await chip.getByRole('button', { name: 'Remove pasted.pdf' }).click();
  await expect(chip).toHaveCount(0);

  // The connection drops as Send is pressed, before the relay gave the file
  // an upload: nothing could be queued, so it fails with Retry, and Retry
  // sends it with its file.
  const prescription = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(200 * 1000)]);
  await s.attachFile(page, { name: 'old-prescription.pdf', mimeType: 'application/pdf', buffer: prescription });
  await expect(chip).toContainText('old-prescription.pdf');
  await page.route('**/v1/uploads', (route) => route.abort('internetdisconnected'));
  await page.getByRole('textbox', { name: 'Message' }).fill('The label of my old prescription');
  await page.getByRole('button', { name: 'Send' }).click();
  const failed = page.getByRole('listitem').filter({ hasText: 'The label of my old prescription' });
  await expect(failed).toContainText('Not sent.');
  await page.unroute('**/v1/uploads');
  await failed.getByRole('button', { name: 'Retry' }).click();
  const sent = page.getByRole('listitem').filter({ hasText: 'The label of my old prescription' });
  await expect(sent).toContainText('Sent', { timeout: 30_000 });
  await expect(sent.getByRole('button', { name: 'Download old-prescription.pdf' })).toBeVisible();
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-saved-'));
  let read = s.clinic('read', threadId, '--save-attachments', saved);
  expect(read.split('The label of my old prescription').length - 1, 'sent once').toBe(1);
  expect(fs.readFileSync(path.join(saved, 'old-prescription.pdf')).equals(prescription)).toBe(true);

  // Cancel mid-upload: the message goes, and nothing reaches the clinic.
  // Three parts, all sent before the press; parts after the first wait
  // until Cancel is pressed, so the press lands while the last parts are
  // still on the wire (a slow connection's case), every time.
  let pressed = () => {};
  const cancelPressed = new Promise((resolve) => { pressed = () => resolve(undefined); });
  await page.route('**/v1/uploads/*/parts/*', async (route) => {
    if (Number(route.request().url().split('/').pop()) >= 1) await cancelPressed;
    await route.continue().catch(() => {});
  });
  await s.attachFile(page, { name: 'big-scan.pdf', mimeType: 'application/pdf', buffer: crypto.randomBytes(2500 * 1000) });
  await expect(chip).toContainText('big-scan.pdf');
  await page.getByRole('textbox', { name: 'Message' }).fill('This one I will cancel');
  await page.getByRole('button', { name: 'Send' }).click();
  const cancelling = page.getByRole('listitem').filter({ hasText: 'This one I will cancel' });
  await expect(cancelling.getByText(/^Encrypting and uploading/)).toBeVisible();
  await cancelling.getByRole('button', { name: 'Cancel upload' }).click();
  pressed();
  await expect(cancelling).toHaveCount(0);
  await expect(page.getByTestId('announcer')).toHaveText('Upload cancelled. Nothing was sent.');
  expect(await s.idbRecords(page, 'outbox')).toHaveLength(0);
  read = s.clinic('read', threadId);
  expect(read).not.toContain('This one I will cancel');
});

test('an upload cut short by the auto-lock waits and finishes after the unlock, from where it stopped', async ({ page, request }) => {
  test.setTimeout(120_000);
  await page.clock.install();
  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Ravi Menon', contact: 'ravi@example.com' });
  await s.confirmRecoveryCode(page, recovery);
  await s.safetyNumber(page);
  await page.getByLabel('Lock Ward after').selectOption('1');
  await page.getByRole('link', { name: 'Messages', exact: true }).click();
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByRole('textbox', { name: 'Message' }).fill('Photos of my prescriptions follow');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Photos of my prescriptions follow' })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());

  // Parts go up slowly; the patient walks away and Ward locks mid-upload.
  const stored = [];
  let locked = false;
  let release = () => {};
  const released = new Promise((resolve) => { release = () => resolve(undefined); });
  await page.route('**/v1/uploads/*/parts/*', async (route) => {
    const index = Number(route.request().url().split('/').pop());
    if (index >= 2 && !locked) {
      // Every later part is held until the lock has happened.
      await released;
    }
    const response = await route.fetch();
    if (response.status() === 204) stored.push(index);
    await route.fulfill({ response });
  });
  const file = crypto.randomBytes(6 * 1000 * 1000);
  await s.attachFile(page, { name: 'prescriptions.pdf', mimeType: 'application/pdf', buffer: file });
  await page.getByRole('textbox', { name: 'Message' }).fill('All my prescriptions');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect.poll(() => stored.length).toBe(2);
  await page.clock.fastForward('01:10');
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeVisible();
  locked = true;
  release();

  // Unlocked: it continues with this tab's file and only the missing parts.
  await page.getByRole('button', { name: 'Unlock with your passkey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ward is locked' })).toBeHidden();
  const message = page.getByRole('listitem').filter({ hasText: 'All my prescriptions' });
  await expect(message).toContainText('Sent', { timeout: 60_000 });
  const parts = Math.ceil(file.length / (16 * CHUNK));
  expect(stored.slice(0, 2).sort((a, b) => a - b), 'the first two went up before the lock').toEqual([0, 1]);
  expect(new Set(stored).size, 'every part stored').toBe(parts);
  expect(stored.filter((i) => i < 2), 'and not sent again').toHaveLength(2);
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-saved-'));
  expect(s.clinic('read', threadId, '--save-attachments', saved)).toContain('[attachment] prescriptions.pdf (application/pdf, 6000000 bytes) saved to');
  expect(fs.readFileSync(path.join(saved, 'prescriptions.pdf')).equals(file)).toBe(true);
});
