// Demo mode: a newcomer starts `hub serve --demo`, signs in, and finds a
// working inbox whose customers answer.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ADMIN, gql, launchBrowser, openPage, screenshot, signIn, signInPage, startHub } from "./harness.mjs";

let hub, browser;

before(async () => {
  hub = await startHub("demo", {}, ["--demo"]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test("the demo workspace has sample chats, and a customer answers what the team sends", async () => {
  const token = await signIn(hub);
  // The sample data is written in the background once the hub listens.
  let chats = [];
  for (let i = 0; i < 100 && chats.length < 18; i++) {
    chats = (await gql(hub, token, "query { chats(first: 50) { nodes { id unreadCount client { displayName } } } }")).chats.nodes;
    if (chats.length < 18) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(chats.length, 18, "every sample client has a chat");
  assert.ok(chats.some((c) => c.unreadCount > 0) && chats.some((c) => c.unreadCount === 0), "some read, some not");
  const { templates } = await gql(hub, token, "query { templates { name } }");
  assert.ok(templates.length >= 5);
  // The sample team signs in with the password the hub printed.
  await signIn(hub, { tenant: "default", email: "agent@example.com", password: "demo password 123" });

  const page = await openPage(browser, hub);
  await signInPage(page, ADMIN);
  await page.getByRole("link", { name: /Maria Gonzalez/ }).click();
  await page.getByTestId("message").filter({ hasText: "oak table" }).waitFor();
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill("Your order has shipped, Maria.");
  await box.press("Enter");
  await page.locator("[data-testid=message][data-status=READ]").filter({ hasText: "has shipped, Maria" }).waitFor({ timeout: 15_000 });
  // The simulated customer answers through the plugin's inbound webhook.
  await page.getByTestId("message").filter({ hasText: "Great, thanks for the update" }).waitFor({ timeout: 15_000 });
  await screenshot(page, "11-demo-chat");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
