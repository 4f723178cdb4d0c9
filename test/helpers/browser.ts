/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (which never downloads a
 * browser of its own). Gate a suite on it with `checkComponents("chromium")` + `describeWithComponent`.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM } from "../infra/components.ts";

/**
 * Running as root needs --no-sandbox. The background-networking switches keep Chromium from calling Google's
 * services, which this machine's closed network (and the loopback-only rule of the tests) refuses.
 */
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
];

export interface Chromium {
  browser: Browser;
  /** A fresh context (own cookies) at a viewport; 390 × 844 is a phone. */
  context(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  // playwright gives each launch a fresh temporary profile and removes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  return {
    browser,
    context: (viewport = { width: 1280, height: 900 }) => browser.newContext({ viewport }),
    close: () => browser.close(),
  };
}

/** Signs in through the login form, the way a user does; resolves on the page the login lands on. */
export async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click('button[type="submit"]')]);
}
