// @ts-check
// The relay's passkey ceremonies from a real Chromium page with a virtual
// authenticator (CDP): registration with the PRF extension, then a
// discoverable sign-in with no username. The Rust tests cannot cover this
// (their software authenticator has no resident keys); the client's screens
// (issue 5) build on exactly these calls.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const support = require('../support');

const data = process.env.WARD_DATA_DIR;

function lastCode(contact) {
  const lines = fs.readFileSync(path.join(data, 'dev-outbox.log'), 'utf8').trim().split('\n');
  const mine = lines.map((l) => l.split('\t')).filter(([to]) => to === contact);
  return mine[mine.length - 1][2];
}

test('a passkey with PRF registers, then signs in without a username', async ({ page, request, baseURL }) => {
  await page.goto('/');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true, hasPrf: true,
    },
  });

  // A clinic, an invite, an enrolled patient (API calls, as the client will make them).
  const invite = { invite_code: await support.invite(request, 'Sam', 'sam-e2e@example.com') };
  const started = await (await request.post('/v1/enroll/start', { data: { invite_code: invite.invite_code } })).json();
  expect((await request.post('/v1/enroll/code', { data: { enrollment_id: started.enrollment_id } })).status()).toBe(204);
  const session = await (await request.post('/v1/enroll/verify', {
    data: { enrollment_id: started.enrollment_id, code: lastCode('sam-e2e@example.com') },
  })).json();

  // Register a passkey in the browser, asking for PRF.
  const registration = await (await request.post('/v1/passkeys/register/start', {
    headers: { authorization: `Bearer ${session.token}` },
  })).json();
  const created = await page.evaluate(async (options) => {
    // Inline: the page's CSP (rightly) refuses injected scripts and eval.
    const b64 = {
      toBuf: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer,
      fromBuf: (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    };
    const pk = options.publicKey;
    pk.challenge = b64.toBuf(pk.challenge);
    pk.user.id = b64.toBuf(pk.user.id);
    pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => ({ ...c, id: b64.toBuf(c.id) }));
    pk.extensions = { ...(pk.extensions || {}), prf: { eval: { first: new TextEncoder().encode('ward vault prf v1') } } };
    const credential = await navigator.credentials.create({ publicKey: pk });
    const response = /** @type {AuthenticatorAttestationResponse} */ (credential.response);
    return {
      prfEnabled: credential.getClientExtensionResults().prf?.enabled === true,
      credential: {
        id: credential.id,
        rawId: b64.fromBuf(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: b64.fromBuf(response.attestationObject),
          clientDataJSON: b64.fromBuf(response.clientDataJSON),
        },
        extensions: {},
      },
    };
  }, registration.options);
  expect(created.prfEnabled).toBe(true);
  let response = await request.post('/v1/passkeys/register/finish', {
    headers: { authorization: `Bearer ${session.token}` },
    data: { ceremony_id: registration.ceremony_id, credential: created.credential, label: 'Test phone' },
  });
  expect(response.status()).toBe(201);

  // Sign in with no username: the browser picks the discoverable credential.
  const signIn = await (await request.post('/v1/auth/passkey/start', { data: {} })).json();
  expect(signIn.options.publicKey.allowCredentials ?? []).toEqual([]);
  const asserted = await page.evaluate(async (options) => {
    // Inline: the page's CSP (rightly) refuses injected scripts and eval.
    const b64 = {
      toBuf: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer,
      fromBuf: (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    };
    const pk = options.publicKey;
    pk.challenge = b64.toBuf(pk.challenge);
    pk.allowCredentials = [];
    pk.extensions = { ...(pk.extensions || {}), prf: { eval: { first: new TextEncoder().encode('ward vault prf v1') } } };
    const credential = await navigator.credentials.get({ publicKey: pk });
    const response = /** @type {AuthenticatorAssertionResponse} */ (credential.response);
    const prf = credential.getClientExtensionResults().prf?.results?.first;
    return {
      prf: prf ? b64.fromBuf(prf) : null,
      credential: {
        id: credential.id,
        rawId: b64.fromBuf(credential.rawId),
        type: credential.type,
        response: {
          authenticatorData: b64.fromBuf(response.authenticatorData),
          clientDataJSON: b64.fromBuf(response.clientDataJSON),
          signature: b64.fromBuf(response.signature),
          userHandle: response.userHandle ? b64.fromBuf(response.userHandle) : null,
        },
        extensions: {},
      },
    };
  }, signIn.options);
  expect(asserted.prf).toBeTruthy();
  response = await request.post('/v1/auth/passkey/finish', {
    data: { ceremony_id: signIn.ceremony_id, credential: asserted.credential },
  });
  expect(response.status()).toBe(200);
  const signedIn = await response.json();
  expect(signedIn.account_id).toBe(session.account_id);
  expect(signedIn.token).not.toBe(session.token);
  expect(baseURL).toContain('localhost');
});
