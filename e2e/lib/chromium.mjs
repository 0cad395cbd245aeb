// Launches Debian's Chromium through playwright-core (which cannot download
// a browser here) with a fresh profile and the flags that keep it from
// reaching out to Google's services on a machine without internet.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

export const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const flags = [
  "--headless",
  "--no-sandbox", // CI runs as root
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** @returns {Promise<{context: import("playwright-core").BrowserContext, close: () => Promise<void>}>} */
export async function launch() {
  // launchPersistentContext passes this as --user-data-dir: a new, empty profile.
  const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: flags });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
