/**
 * The browser harness itself: Debian's Chromium signs in to a real appliance through its login form and lands on
 * the dashboard. The feature suites in this folder build on it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Appliance, startAppliance } from "../helpers/appliance.ts";
import { type Chromium, launchChromium, signIn } from "../helpers/browser.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const needs = await checkComponents("chromium");

describeWithComponent("browser: sign in", needs, () => {
  let app: Appliance;
  let chrome: Chromium;
  beforeAll(async () => {
    [app, chrome] = await Promise.all([startAppliance(), launchChromium()]);
  }, 90_000);
  afterAll(async () => {
    await chrome?.close();
    await app?.kill();
  });

  it("signs in through the login form and shows the dashboard", async () => {
    const ctx = await chrome.context();
    const page = await ctx.newPage();
    await signIn(page, app.base, app.owner.email, app.owner.password);
    expect(new URL(page.url()).pathname).toBe("/");
    await expect(page.locator("nav").first().isVisible()).resolves.toBe(true);
    await ctx.close();
  }, 60_000);
});
