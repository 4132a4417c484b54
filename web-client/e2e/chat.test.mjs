// The chat screen in depth: search, keyboard, history pages, the profile and
// its contacts, picking a channel, a failed delivery's reason, GDPR export
// and erasure.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { gql, openPage, screenshot, signInPage, startWorld } from "./harness.mjs";

let world, hub, receiver, browser, token;

async function clientWithChat(input) {
  const { createClient } = await gql(hub, token, "mutation ($i: CreateClientInput!) { createClient(input: $i) { id } }", { i: input });
  const { openChat } = await gql(hub, token, "mutation ($c: ID!) { openChat(clientId: $c) { id } }", { c: createClient.id });
  return { clientId: createClient.id, chatId: openChat.id };
}

async function note(chatId, text) {
  await gql(hub, token, "mutation ($c: ID!, $t: String!) { logInboundMessage(input: { chatId: $c, text: $t, transport: PHONE }) { id } }", {
    c: chatId,
    t: text,
  });
}

before(async () => {
  world = await startWorld("chat");
  ({ hub, receiver, browser, token } = world);
});

after(() => world?.close());

test("search finds clients by name and messages by their words", async () => {
  const { chatId } = await clientWithChat({ firstName: "Margaret", lastName: "Hamilton", contacts: [{ kind: "EMAIL", value: "margaret@example.com" }] });
  await note(chatId, "The guidance computer needs a new rope memory module");
  const page = await openPage(browser, hub);
  await signInPage(page);
  const search = page.getByRole("searchbox", { name: "Search clients and messages" });
  await search.fill("Hamilton");
  const results = page.getByTestId("search-results");
  await results.getByRole("button", { name: /Margaret Hamilton/ }).waitFor();
  await search.fill("rope memory");
  const hit = results.getByRole("link", { name: /rope memory module/ });
  await hit.waitFor();
  await hit.click();
  await page.getByTestId("message").filter({ hasText: "rope memory module" }).waitFor();
  assert.match(page.url(), new RegExp(`#/chat/${chatId}$`));
  await page.context().close();
});

test("the arrow keys move through the chat list", async () => {
  for (const name of ["Kb One", "Kb Two", "Kb Three"]) {
    const { chatId } = await clientWithChat({ firstName: name });
    await note(chatId, `Hello from ${name}`);
  }
  const page = await openPage(browser, hub);
  await signInPage(page);
  const list = page.getByRole("list", { name: "Conversations" });
  await list.getByRole("link", { name: /Kb Three/ }).waitFor();
  // Newest first: Three, Two, One.
  await page.keyboard.press("ArrowDown");
  await page.getByTestId("client-name").filter({ hasText: "Kb Three" }).waitFor();
  await page.keyboard.press("ArrowDown");
  await page.getByTestId("client-name").filter({ hasText: "Kb Two" }).waitFor();
  await page.keyboard.press("ArrowUp");
  await page.getByTestId("client-name").filter({ hasText: "Kb Three" }).waitFor();
  await page.context().close();
});

test("older messages load as the history scrolls up", async () => {
  const { chatId } = await clientWithChat({ firstName: "Long", lastName: "History" });
  for (let i = 1; i <= 90; i++) await note(chatId, `Call note number ${i}`);
  const page = await openPage(browser, hub);
  await signInPage(page);
  await page.goto(`/#/chat/${chatId}`);
  const messages = page.getByTestId("message");
  await messages.filter({ hasText: "Call note number 90" }).waitFor();
  const first = await messages.count();
  assert.ok(first < 90, `one page at first, not all (${first})`);
  const history = page.getByTestId("history");
  for (let i = 0; i < 5 && (await messages.count()) < 90; i++) {
    await history.evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(400);
  }
  assert.equal(await messages.count(), 90);
  await page.getByText("Call note number 1", { exact: true }).waitFor();
  await page.getByText("Start of the conversation").waitFor();
  await page.context().close();
});

test("the profile is edited, and a contact added, given consent and removed", async () => {
  const { chatId, clientId } = await clientWithChat({ firstName: "Edit", lastName: "Me", contacts: [{ kind: "PHONE", value: "+14155550177" }] });
  const page = await openPage(browser, hub);
  await signInPage(page);
  await page.goto(`/#/chat/${chatId}`);
  const panel = page.getByRole("complementary", { name: "Client profile" });
  await panel.getByRole("button", { name: "Edit profile" }).click();
  await panel.getByLabel("Last name").fill("Edited");
  await panel.getByLabel("Tax PIN").fill("TX-998877");
  await panel.getByLabel("Notes").fill("Prefers calls after 5pm.");
  await panel.getByRole("button", { name: "Save" }).click();
  await panel.getByTestId("client-name").filter({ hasText: "Edit Edited" }).waitFor();
  assert.match(await panel.innerText(), /TX-998877/);
  // The chat list follows the rename live.
  await page.getByRole("list", { name: "Conversations" }).getByRole("link", { name: /Edit Edited/ }).waitFor();

  await panel.getByLabel("Contact kind").selectOption("EMAIL");
  await panel.getByLabel("Contact", { exact: true }).fill("Edit.Me@Example.com");
  await panel.getByRole("button", { name: "Add contact" }).click();
  const email = panel.getByTestId("contact").filter({ hasText: "edit.me@example.com" });
  await email.waitFor();
  page.once("dialog", (d) => d.accept("signed form"));
  await email.getByRole("button", { name: "Record opt-in" }).click();
  await email.getByText("Opted in").waitFor();
  assert.match(await email.innerText(), /signed form/);
  await screenshot(page, "14-profile");

  page.once("dialog", (d) => d.accept());
  await panel.getByTestId("contact").filter({ hasText: "+14155550177" }).getByRole("button", { name: "Remove" }).click();
  await panel.getByTestId("contact").filter({ hasText: "+14155550177" }).waitFor({ state: "detached" });

  const { client } = await gql(hub, token, "query ($id: ID!) { client(id: $id) { lastName taxPin notes contacts { value consent { status source } } } }", { id: clientId });
  assert.equal(client.lastName, "Edited");
  assert.equal(client.taxPin, "TX-998877");
  assert.equal(client.notes, "Prefers calls after 5pm.");
  assert.deepEqual(client.contacts, [{ value: "edit.me@example.com", consent: { status: "OPTED_IN", source: "signed form" } }]);
  await page.context().close();
});

test("the channel is picked when a client has several, and a failed send shows why", async () => {
  const { chatId } = await clientWithChat({
    firstName: "Two",
    lastName: "Channels",
    contacts: [
      { kind: "PHONE", value: "+14155550188" },
      { kind: "EMAIL", value: "two@example.com" },
    ],
  });
  const page = await openPage(browser, hub);
  await signInPage(page);
  await page.goto(`/#/chat/${chatId}`);
  const channel = page.getByRole("combobox", { name: "Send through" });
  await channel.waitFor();
  assert.deepEqual(await channel.locator("option").allInnerTexts(), ["Last used channel", "SMS", "E-mail"]);
  await channel.selectOption("EMAIL");
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill("Your invoice is attached to the e-mail.");
  await box.press("Enter");
  await page.locator("[data-testid=message][data-status=DELIVERED]").filter({ hasText: "invoice is attached" }).waitFor({ timeout: 15_000 });
  const sent = receiver.received.find((m) => m.text === "Your invoice is attached to the e-mail.");
  assert.equal(sent.channel, "email");
  assert.equal(sent.to, "two@example.com");

  // The integration refuses this one for good: the chat says why.
  await box.fill("[refuse] This one bounces");
  await box.press("Enter");
  const failed = page.locator("[data-testid=message][data-status=FAILED]").filter({ hasText: "This one bounces" });
  await failed.waitFor({ timeout: 15_000 });
  assert.match(await failed.innerText(), /mailbox does not exist/);
  await screenshot(page, "15-failed");
  await page.context().close();
});

test("an admin exports a client's data and erases the client for good", async () => {
  const { chatId, clientId } = await clientWithChat({ firstName: "Gone", lastName: "Forever", contacts: [{ kind: "EMAIL", value: "gone@example.com" }] });
  await note(chatId, "Please delete everything you hold about me");
  const page = await openPage(browser, hub);
  await signInPage(page);
  await page.goto(`/#/chat/${chatId}`);
  const panel = page.getByRole("complementary", { name: "Client profile" });
  await panel.getByTestId("client-name").filter({ hasText: "Gone Forever" }).waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), panel.getByRole("button", { name: "Export data (GDPR)" }).click()]);
  const archive = JSON.parse(await (await import("node:fs/promises")).readFile(await download.path(), "utf8"));
  assert.equal(archive.client.first_name, "Gone");
  assert.equal(archive.messages[0].text, "Please delete everything you hold about me");
  page.once("dialog", (d) => d.accept("Gone Forever"));
  await panel.getByRole("button", { name: "Erase for good" }).click();
  await page.waitForURL((u) => !u.hash.includes(chatId));
  await assert.rejects(gql(hub, token, "query ($id: ID!) { client(id: $id) { id } }", { id: clientId }), /NOT_FOUND/);
  await page.context().close();
});
