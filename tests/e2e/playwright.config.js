// @ts-check
// Run by `cargo xtask test`, which builds the client, starts a real relay on a
// free port and passes its URL as WARD_URL. Chromium is Debian's: Playwright
// never downloads a browser here.
const { defineConfig } = require('@playwright/test');

const baseURL = process.env.WARD_URL;
if (!baseURL) {
  throw new Error('WARD_URL is not set: run these tests with `cargo xtask test`, which starts the relay.');
}

// `cargo xtask bench` sets WARD_BENCH=1 to run the benchmarks in ./bench
// instead of the tests.
const bench = process.env.WARD_BENCH === '1';

module.exports = defineConfig({
  testDir: bench ? './bench' : './specs',
  globalSetup: require.resolve('./global-setup.js'),
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL,
    viewport: { width: 360, height: 740 },
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
});
