import { defineConfig } from "@playwright/test";

// The browser tests run Debian's Chromium (never a downloaded one) against a real
// `weft server --bundled` that e2e/global-setup.ts starts on its own data dir.
export const PORT = Number(process.env.WEFT_E2E_PORT ?? 55154);

export default defineConfig({
  testDir: "e2e",
  globalSetup: "./e2e/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 6 * 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1280, height: 860 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // CI runs as root, where Chromium's sandbox cannot start
      args: ["--no-sandbox"],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
});
