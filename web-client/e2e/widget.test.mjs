// The website widget: a visitor on a company's site (another origin) and an
// agent in the inbox talk live, and the visitor's conversation survives a reload.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, screenshot, signInPage, startHub } from "./harness.mjs";

let hub, site, siteUrl, browser;

before(async () => {
  hub = await startHub("widget");
  // The company's own website, on another origin, embedding the widget.
  site = createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html>
      <html><head><title>Acme Furniture</title></head>
      <body style="font-family: sans-serif; background: #faf7f2">
        <h1>Acme Furniture</h1><p>Oak tables, linen sofas, delivered to your door.</p>
        <script src="${hub.url}/widget.js" data-tenant="default" data-title="Acme support" async></script>
      </body></html>`);
  });
  await new Promise((r) => site.listen(0, "127.0.0.1", r));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
  site?.close();
});

test("a website visitor and an agent exchange messages live", async () => {
  const visitor = await openPage(browser, hub);
  await visitor.goto(siteUrl);
  await visitor.getByRole("button", { name: "Acme support" }).click();
  const box = visitor.getByRole("dialog", { name: "Acme support" }).getByRole("textbox", { name: "Message", exact: true });
  await box.fill("Hello, do you deliver on Sundays?");
  await box.press("Enter");

  visitor.on("request", (r) => console.log("REQ", Date.now() % 100000, r.method(), r.url()));
  visitor.on("requestfinished", (r) => console.log("FIN", Date.now() % 100000, r.url()));
  const agent = await openPage(browser, hub);
  await signInPage(agent);
  // The visitor's message arrives live as a new website chat with a badge.
  const item = agent.getByRole("link", { name: /Website visitor/ });
  await item.getByTestId("unread").waitFor({ timeout: 10_000 });
  assert.match(await item.innerText(), /deliver on Sundays/);
  assert.match(await item.innerText(), /Website/);
  await item.click();
  const reply = agent.getByRole("textbox", { name: "Message", exact: true });
  await reply.fill("Yes, we deliver every day of the week!");
  await reply.press("Enter");

  // The answer reaches the open widget without a reload…
  const answer = visitor.locator("[data-hub-widget]").getByText("Yes, we deliver every day of the week!");
  await answer.waitFor({ timeout: 30_000 });
  await screenshot(visitor, "12-widget-visitor");
  // …and the agent sees it read, since the visitor has the widget open.
  try {
    await agent
      .locator("[data-testid=message][data-status=READ]")
      .filter({ hasText: "every day of the week" })
      .waitFor({ timeout: 30_000 });
  } catch (e) {
    const { signIn: si, gql: g } = await import("./harness.mjs");
    const r = await g(hub, await si(hub), "{ chats(first: 5) { nodes { messages { nodes { text status } } } } }");
    const shown = await agent.getByTestId("message").evaluateAll((els) => els.map((e) => e.dataset.status + " " + e.innerText));
    throw new Error(`${e.message}\nhub: ${JSON.stringify(r)}\nagent shows: ${JSON.stringify(shown)}`);
  }
  await screenshot(agent, "13-widget-agent");

  // After a reload the visitor's conversation is still there.
  await visitor.reload();
  await visitor.getByRole("button", { name: "Acme support" }).click();
  const dialog = visitor.getByRole("dialog", { name: "Acme support" });
  await dialog.getByText("Hello, do you deliver on Sundays?").waitFor({ timeout: 10_000 });
  await dialog.getByText("Yes, we deliver every day of the week!").waitFor();
  assert.deepEqual(visitor.errors, []);
  assert.deepEqual(agent.errors, []);
});

test("the widget API refuses a missing or malformed visitor token and bad bodies", async () => {
  const url = `${hub.url}/widget/default/messages`;
  const noToken = await fetch(url, { method: "POST", body: "{}" });
  assert.equal(noToken.status, 401);
  assert.match((await noToken.json()).error.message, /Authorization: Visitor/);
  const shortToken = await fetch(url, { headers: { authorization: "Visitor short" } });
  assert.equal(shortToken.status, 401);
  const headers = { authorization: `Visitor ${"t".repeat(43)}`, "content-type": "application/json" };
  const empty = await fetch(url, { method: "POST", headers, body: JSON.stringify({ id: "m1", text: "   " }) });
  assert.equal(empty.status, 400);
  assert.match((await empty.json()).error.message, /text/);
  const long = await fetch(url, { method: "POST", headers, body: JSON.stringify({ id: "m2", text: "x".repeat(4001) }) });
  assert.equal(long.status, 400);
  const unknown = await fetch(`${hub.url}/widget/no-such-tenant/messages`, { headers });
  assert.equal(unknown.status, 404);
  // A browser on another site may call it.
  const preflight = await fetch(url, { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-method": "POST" } });
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  assert.match(preflight.headers.get("access-control-allow-headers"), /authorization/);
  // A retried post with the same id is stored once.
  const body = JSON.stringify({ id: "same-id", text: "Only once, please" });
  for (let i = 0; i < 2; i++) assert.equal((await fetch(url, { method: "POST", headers, body })).status, 202);
  const { messages } = await (await fetch(url, { headers })).json();
  assert.equal(messages.filter((m) => m.text === "Only once, please").length, 1);
});
