import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";

export interface Tokens {
  superadmin: string;
  admin: string;
  user: string;
  other: string;
  dataDir: string;
  log: string;
}

export function tokens(): Tokens {
  const raw = process.env.WEFT_E2E_TOKENS;
  if (!raw) throw new Error("WEFT_E2E_TOKENS is not set: global-setup did not run");
  return JSON.parse(raw) as Tokens;
}

/** Where the tests write screenshots of the main pages (the README shows two). */
export const SCREENSHOTS = resolve(process.env.WEFT_SCREENSHOTS ?? join(import.meta.dirname, "..", "screenshots"));

export async function shot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, token: string) {
  await page.goto("/");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("who")).toBeVisible();
}

/** The field a JSON path names (the `data-field` of its wrapper). */
export function field(scope: Page | Locator, path: string) {
  return scope.locator(`[data-field="${path}"]`);
}
