// The web inbox in a real browser against the real hub.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ADMIN, gql, openPage, postInbound, screenshot, signIn, signInPage, startWorld } from "./harness.mjs";

let world, hub, receiver, browser, token;

before(async () => {
  world = await startWorld("inbox");
  ({ hub, receiver, browser, token } = world);
});

after(() => world?.close());

describe("the web inbox", () => {
  test("a wrong password is answered on the sign-in form", async () => {
    const page = await openPage(browser, hub);
    await page.goto("/");
    await screenshot(page, "01-sign-in");
    await page.getByLabel("E-mail").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /password|credentials|sign/i);
    await page.context().close();
  });

  test("an admin creates a client, opens its chat, sends, and sees the message delivered", async () => {
    const page = await openPage(browser, hub);
    await signInPage(page);
    await screenshot(page, "02-inbox-empty");

    await page.getByRole("link", { name: "New client" }).click();
    await page.getByLabel("First name").fill("Ada");
    await page.getByLabel("Last name").fill("Lovelace");
    await page.getByLabel("Address").fill("12 St James's Square, London");
    await page.getByLabel("Contact", { exact: true }).fill("+1 415 555 0123");
    await screenshot(page, "03-new-client");
    await page.getByRole("button", { name: "Create and open chat" }).click();

    await page.getByTestId("client-name").filter({ hasText: "Ada Lovelace" }).waitFor();
    assert.match(page.url(), /#\/chat\//);
    const contact = page.getByTestId("contact");
    assert.match(await contact.innerText(), /\+14155550123/);

    const box = page.getByRole("textbox", { name: "Message", exact: true });
    await box.fill("Hello Ada, your order has shipped.");
    await box.press("Enter");
    const message = page.getByTestId("message").filter({ hasText: "your order has shipped" });
    await message.waitFor();
    assert.equal(await box.inputValue(), "", "the box is cleared once the hub took the message");
    // The fake integration accepts it, then reports it delivered: the tick
    // changes without a reload.
    await page.locator('[data-testid=message][data-status=DELIVERED]').filter({ hasText: "your order has shipped" }).waitFor({ timeout: 15_000 });
    assert.match(await message.getByTestId("status").innerText(), /Delivered/);
    assert.equal(receiver.received.length, 1);
    assert.equal(receiver.received[0].to, "+14155550123");
    assert.equal(receiver.received[0].text, "Hello Ada, your order has shipped.");

    // The chat is in the list with its preview.
    const item = page.getByRole("link", { name: /Ada Lovelace/ });
    assert.match(await item.innerText(), /your order has shipped/);
    await screenshot(page, "04-chat");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("an inbound message appears live with an unread badge that clears when read", async () => {
    const page = await openPage(browser, hub);
    await signInPage(page);
    await page.getByRole("link", { name: /Ada Lovelace/ }).waitFor();

    await postInbound(hub, {
      type: "message",
      id: "ext-live-1",
      channel: "sms",
      from: { address: "+14155550123", name: "Ada" },
      text: "Thanks! When will it arrive?",
    });
    const item = page.getByRole("link", { name: /Ada Lovelace/ });
    const badge = item.getByTestId("unread");
    await badge.waitFor({ timeout: 10_000 });
    assert.equal(await badge.innerText(), "1");
    assert.match(await item.innerText(), /When will it arrive/);
    // A sender the hub has never seen becomes a new chat at the top.
    await postInbound(hub, {
      type: "message",
      id: "ext-live-2",
      channel: "sms",
      from: { address: "+14155550999", name: "Grace Hopper" },
      text: "Do you ship to Arlington?",
    });
    await page.getByRole("link", { name: /Do you ship to Arlington/ }).waitFor({ timeout: 10_000 });
    await screenshot(page, "05-inbox-unread");

    await item.click();
    await page.getByTestId("message").filter({ hasText: "When will it arrive?" }).waitFor();
    await badge.waitFor({ state: "detached", timeout: 10_000 });
    const { chats } = await gql(hub, token, "query { chats(first: 10) { nodes { client { displayName } unreadCount } } }");
    const ada = chats.nodes.find((c) => c.client.displayName === "Ada Lovelace");
    assert.equal(ada.unreadCount, 0, "reading it in the browser marked it read in the hub");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("typing / in the message box picks a template", async () => {
    await gql(hub, token, "mutation { createTemplate(name: \"Opening hours\", text: \"We are open 9:00–17:00, Monday to Friday.\") { id } }");
    await gql(hub, token, "mutation { createTemplate(name: \"Thanks\", text: \"Thank you for your order!\") { id } }");
    const page = await openPage(browser, hub);
    await signInPage(page);
    await page.getByRole("link", { name: /Ada Lovelace/ }).click();
    const box = page.getByRole("textbox", { name: "Message", exact: true });
    await box.fill("/open");
    const picker = page.getByTestId("template-picker");
    await picker.getByRole("option", { name: /Opening hours/ }).waitFor();
    assert.doesNotMatch(await picker.innerText(), /Thanks/);
    await screenshot(page, "06-template-picker");
    await box.press("Enter");
    assert.equal(await box.inputValue(), "We are open 9:00–17:00, Monday to Friday.");
    assert.equal(await picker.count(), 0);
    await page.context().close();
  });

  test("a refused send says why", async () => {
    const { createClient } = await gql(hub, token, "mutation { createClient(input: { firstName: \"Nocontact\" }) { id } }");
    const { openChat } = await gql(hub, token, "mutation ($c: ID!) { openChat(clientId: $c) { id } }", { c: createClient.id });
    const page = await openPage(browser, hub);
    await signInPage(page);
    await page.goto(`/#/chat/${openChat.id}`);
    const box = page.getByRole("textbox", { name: "Message", exact: true });
    await box.fill("Anyone there?");
    await box.press("Enter");
    const error = page.getByTestId("send-error");
    await error.waitFor();
    assert.match(await error.innerText(), /contact/i);
    assert.equal(await box.inputValue(), "Anyone there?", "the text is kept for another try");
    await page.context().close();
  });

  test("the admin screens: templates, users, audit log", async () => {
    const page = await openPage(browser, hub);
    await signInPage(page);
    await page.getByRole("link", { name: "Templates" }).click();
    await page.getByRole("cell", { name: "Opening hours" }).waitFor();
    await screenshot(page, "07-templates");
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("cell", { name: ADMIN.email }).waitFor();
    await screenshot(page, "08-users");
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByText("client.created").first().waitFor();
    await screenshot(page, "09-audit");
    await page.context().close();
  });

  test("an agent is refused the admin screens", async () => {
    const agent = { tenant: "default", email: "agent@example.com", password: "agent password 123" };
    await gql(hub, token, "mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }", {
      i: { email: agent.email, name: "Alan Agent", role: "AGENT", password: agent.password },
    });
    const page = await openPage(browser, hub);
    await signInPage(page, agent);
    const nav = page.getByRole("navigation", { name: "Main" });
    assert.equal(await nav.getByRole("link", { name: "Users" }).count(), 0);
    assert.equal(await nav.getByRole("link", { name: "Templates" }).count(), 0);
    assert.equal(await nav.getByRole("link", { name: "Audit log" }).count(), 0);
    for (const path of ["users", "templates", "audit"]) {
      await page.goto(`/#/${path}`);
      await page.getByTestId("forbidden").waitFor();
    }
    await screenshot(page, "10-agent-forbidden");
    // The hub refuses too, whatever the page shows.
    const agentToken = await signIn(hub, agent);
    await assert.rejects(gql(hub, agentToken, "query { users { id } }"), /FORBIDDEN/);
    await page.context().close();
  });
});
