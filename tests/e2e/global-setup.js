// @ts-check
// Turns the fresh e2e relay's one-time setup code into the clinic inbox
// account, once for every spec; the clinic's token goes into the relay's
// data directory for `support.clinicToken()`.
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function globalSetup() {
  const data = process.env.WARD_DATA_DIR;
  const baseURL = process.env.WARD_URL;
  if (!data || !baseURL) throw new Error('run these tests with `cargo xtask test`');
  const setupCode = fs.readFileSync(path.join(data, 'clinic-setup-code'), 'utf8');
  const response = await fetch(new URL('/v1/clinic/setup', baseURL), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ setup_code: setupCode, display_name: 'Riverside Clinic' }),
  });
  if (response.status !== 200) {
    throw new Error(`clinic setup on the fresh e2e relay answered ${response.status}: ${await response.text()}`);
  }
  fs.writeFileSync(path.join(data, 'e2e-clinic-token'), (await response.json()).token);
};
