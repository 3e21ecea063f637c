// @ts-check
// Sets the fresh e2e relay's clinic up through the clinic agent
// (`ward-clinic init`), once for every spec: the clinic inbox account,
// its published keys, and its key file in the relay's data directory, which
// `support.clinic()` then uses for invites, reading and replying.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const data = process.env.WARD_DATA_DIR;
  const agent = process.env.WARD_CLINIC_BIN;
  if (!data || !agent || !process.env.WARD_URL) throw new Error('run these tests with `cargo xtask test`');
  execFileSync(agent, [
    '--relay', process.env.WARD_URL, '--key-file', path.join(data, 'e2e-clinic.key'),
    'init', '--name', 'Riverside Clinic', '--setup-code-file', path.join(data, 'clinic-setup-code'),
  ], { env: { ...process.env, WARD_CLINIC_PASSPHRASE: 'e2e clinic passphrase' }, stdio: 'pipe' });
};
