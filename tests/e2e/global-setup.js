// @ts-check
// Sets the fresh e2e relay's clinic up through the clinic agent
// (`ward-clinic init`), once for every spec: the clinic inbox account,
// its published keys, and its key file in the relay's data directory, which
// `support.clinic()` then uses for invites, reading and replying.
// (`support.ownRelay()` sets up the clinic of a spec's own relay the same way.)
const { initClinic, shared } = require('./support');

module.exports = async function globalSetup() {
  if (!process.env.WARD_DATA_DIR || !process.env.WARD_CLINIC_BIN || !process.env.WARD_URL) {
    throw new Error('run these tests with `cargo xtask test`');
  }
  initClinic(shared);
};
