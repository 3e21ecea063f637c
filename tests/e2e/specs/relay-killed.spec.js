// @ts-check
// The relay killed (kill -9) while a patient in the browser and the clinic
// agent each send 100 messages into one thread, then started again on the
// same port with the same data: the page reconnects by itself (no reload),
// its outbox drains, and the relay holds every message exactly once, each
// side's in the order written, numbered 1 to 200 without a gap. The page
// shows each of them once, in the relay's order.
//
// This spec kills a relay of its own (support.ownRelay), never the shared one.
const { test, expect } = require('@playwright/test');
const s = require('../support');

/** Messages from each side. */
const EACH = 100;
/** The relay dies once each side has written this many... */
const KILL_AFTER = 40;
/** ...and comes back after the patient has written this many more. */
const WRITTEN_WHILE_DOWN = 15;

const patientText = (/** @type {number} */ i) => `Patient note ${String(i).padStart(3, '0')}`;
const clinicText = (/** @type {number} */ i) => `Clinic answer ${String(i).padStart(3, '0')}`;
const range = (/** @type {number} */ n) => Array.from({ length: n }, (_, i) => i + 1);

/** @type {Awaited<ReturnType<typeof s.ownRelay>>} */
let relay;
/** @type {ReturnType<typeof s.clinicPipe> | undefined} */
let clinic;

test.beforeAll(async () => {
  relay = await s.ownRelay();
});

test.afterEach(async ({}, testInfo) => {
  clinic?.stop();
  if (testInfo.status !== testInfo.expectedStatus) {
    await testInfo.attach('relay.log', { body: relay.log(), contentType: 'text/plain' });
    if (clinic) {
      await testInfo.attach('clinic agent', { body: `${clinic.lines().join('\n')}\n--- stderr ---\n${clinic.stderr()}`, contentType: 'text/plain' });
    }
  }
});

test.afterAll(async () => {
  await relay?.stop();
});

test('killed mid-conversation, the relay restarts; the page reconnects and every message arrives once, in order', async ({ page, request }, testInfo) => {
  test.setTimeout(240_000);
  // Every event stream the page opens, and when the relay said it is ready on one.
  let streams = 0;
  /** @type {number[]} */
  const readyAt = [];
  page.on('websocket', (ws) => {
    if (!ws.url().endsWith('/v1/events')) return;
    streams += 1;
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string' && payload.includes('"type":"ready"')) readyAt.push(Date.now());
    });
  });

  await s.addAuthenticator(page, { prf: true });
  const recovery = await s.enrollThroughScreens(page, request, { name: 'Noor Haddad', contact: 'noor@example.com', relay });
  await s.confirmRecoveryCode(page, recovery);

  // The patient's first message starts the thread.
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  const composer = page.getByRole('textbox', { name: 'Message' });
  const send = page.getByRole('button', { name: 'Send' });
  await composer.fill(patientText(1));
  await send.click();
  await expect(page.getByRole('listitem').filter({ hasText: patientText(1) })).toContainText('Sent');
  const threadId = /** @type {string} */ (new URL(page.url()).pathname.split('/').pop());
  await expect.poll(() => readyAt.length, { message: 'the page listens to the relay' }).toBeGreaterThanOrEqual(1);
  // A reload would lose this.
  await page.evaluate(() => { /** @type {any} */ (window).notReloaded = true; });

  // The clinic agent answers line by line, as each is written to it.
  clinic = s.clinicPipe(relay, 'reply', threadId, '-');
  const agent = clinic;
  const outbox = async () => (await s.idbRecords(page, 'outbox')).length;
  const write = async (/** @type {number} */ i) => {
    if (i > 1) {
      await composer.fill(patientText(i));
      await send.click();
      await expect(composer).toHaveValue('');
    }
    agent.write(clinicText(i));
  };

  for (let i = 1; i <= KILL_AFTER; i += 1) await write(i);
  // Both sides are mid-flow (the agent's other lines come after the kill).
  const sentBeforeKill = agent.lines().length;
  const streamsBeforeKill = readyAt.length;
  await relay.kill();
  const downAt = Date.now();

  for (let i = KILL_AFTER + 1; i <= KILL_AFTER + WRITTEN_WHILE_DOWN; i += 1) await write(i);
  // What the patient wrote meanwhile waits, sealed, in the outbox.
  await expect.poll(outbox, { message: 'the outbox holds what was written while the relay was down' })
    .toBeGreaterThanOrEqual(WRITTEN_WHILE_DOWN);
  await expect(page.getByText(/^Waiting for a connection/).first()).toBeVisible();
  // The patient is told the live connection dropped.
  const reconnecting = page.getByRole('status').filter({ hasText: 'Reconnecting…' });
  await expect(reconnecting).toBeVisible();

  await relay.start();
  const upAt = Date.now();
  for (let i = KILL_AFTER + WRITTEN_WHILE_DOWN + 1; i <= EACH; i += 1) await write(i);
  agent.end();

  // The page found the relay again by itself: a new stream, ready again.
  await expect.poll(() => readyAt.length, { message: 'the page reconnects on its own', timeout: 60_000 }).toBeGreaterThan(streamsBeforeKill);
  expect(streams).toBeGreaterThan(streamsBeforeKill);
  await expect(reconnecting, 'and that it is back').toHaveCount(0);
  // The agent sent each of its lines once, and the outbox drained.
  const { code, stderr } = await agent.exited;
  expect(code, stderr).toBe(0);
  expect(agent.lines()).toHaveLength(EACH);
  await expect.poll(outbox, { message: 'the outbox drains', timeout: 60_000 }).toBe(0);
  await expect(page.locator('li.message.mine .status').filter({ hasText: /Sending|Waiting|Not sent/ }), 'every one of the patient\'s is stored')
    .toHaveCount(0, { timeout: 30_000 });

  // The relay's copy, read (and decrypted) by the clinic agent: 1..=200
  // without a gap, each side's messages once each, in the order written.
  const read = s.clinicAt(relay, '', 'read', threadId);
  const stored = read.split('\n').filter((line) => line.startsWith('#')).map((line) => {
    const [, seq, who, text] = /** @type {RegExpMatchArray} */ (line.match(/^#(\d+) ([^:]+): (.*)$/));
    return { seq: Number(seq), who, text };
  });
  expect(stored.map((m) => m.seq), 'numbered 1 to 200 without a gap').toEqual(range(2 * EACH));
  expect(stored.filter((m) => m.who === 'Noor Haddad').map((m) => m.text), 'the patient\'s, once each, in order')
    .toEqual(range(EACH).map(patientText));
  expect(stored.filter((m) => m.who === 'Riverside Clinic').map((m) => m.text), 'the clinic\'s, once each, in order')
    .toEqual(range(EACH).map(clinicText));
  expect(s.clinicAt(relay, '', 'verify-archive', threadId)).toContain('complete: messages #1 to #200');

  // The page (never reloaded) shows each message once, in the relay's order.
  expect(await page.evaluate(() => /** @type {any} */ (window).notReloaded), 'not reloaded').toBe(true);
  await expect(page.getByRole('listitem').filter({ hasText: clinicText(EACH) })).toBeVisible({ timeout: 30_000 });
  const earlier = page.getByRole('button', { name: /Show earlier messages/ });
  await expect(async () => {
    if (await earlier.isVisible() && await earlier.isEnabled()) await earlier.click({ timeout: 5_000 });
    await expect(page.locator('li.message .text')).toHaveText(stored.map((m) => m.text), { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });

  const note = `relay down ${upAt - downAt} ms (the agent had sent ${sentBeforeKill} of its replies when it died); `
    + `the page's stream was ready again ${readyAt[streamsBeforeKill] - upAt} ms after the restart`;
  testInfo.annotations.push({ type: 'timing', description: note });
  console.log(note);
});
