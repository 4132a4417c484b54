// What the browser tests run against: the real `hub` binary on a fresh
// embedded database, a fake of an integration that speaks the `webhook`
// plugin's signed JSON, and Debian's Chromium driven by Playwright.
//
// `cargo xtask test` sets HUB_BIN and HUB_PLUGINS_DIR; CHROMIUM overrides the
// browser (default /usr/bin/chromium).

import { spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const ADMIN = { tenant: "default", email: "admin@example.com", password: "admin password 123" };
export const SECRET = "browser-test-webhook-secret-0123";
export const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS ?? join(here, "..", "e2e-artifacts"));

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with \`cargo xtask test\``);
  return value;
}

export function sign(body, t = Math.floor(Date.now() / 1000)) {
  const mac = createHmac("sha256", SECRET).update(`${t}.`).update(body).digest("hex");
  return `t=${t},v1=${mac}`;
}

function verify(header, body) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return false;
  const want = Buffer.from(sign(body, Number(m[1])).split("v1=")[1], "hex");
  return timingSafeEqual(want, Buffer.from(m[2], "hex"));
}

/**
 * The integration behind the `webhook` plugin: checks each message's
 * signature, accepts it with an id of its own, then reports it delivered
 * through the status callback URL the hub gave, signed as the plugin expects.
 * A text starting `[refuse]` is answered 422, which fails it for good.
 */
export async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      if (!verify(req.headers["x-hub-signature"], body)) {
        res.writeHead(401).end("bad signature");
        return;
      }
      const message = JSON.parse(body.toString());
      received.push(message);
      // A message the test wants refused for good, as a real mail bridge
      // refuses an unknown mailbox.
      if (message.text.startsWith("[refuse]")) {
        res.writeHead(422, { "content-type": "text/plain" }).end("the mailbox does not exist");
        return;
      }
      const id = `rcv-${message.id}`;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id }));
      await new Promise((r) => setTimeout(r, 300));
      const status = JSON.stringify({ type: "status", id, state: "delivered" });
      await fetch(message.status_callback_url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature": sign(status) },
        body: status,
      });
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/messages`, host: `127.0.0.1:${port}`, received, close: () => server.close() };
}

/**
 * Starts `hub serve` on a free port with a new database; resolves once it
 * listens. Its log is kept in `ARTIFACTS/<name>-hub.log` when it stops.
 */
export async function startHub(name, env = {}, args = []) {
  const dir = mkdtempSync(join(tmpdir(), "hub-e2e-"));
  const child = spawn(need("HUB_BIN"), ["serve", ...args], {
    env: {
      PATH: process.env.PATH,
      HUB_DATABASE__URL: `surrealkv://${join(dir, "db")}`,
      HUB_LISTEN: "127.0.0.1:0",
      HUB_LOG: "info,surrealdb=warn",
      HUB_PLUGINS__DIR: need("HUB_PLUGINS_DIR"),
      HUB_FILES__DIR: join(dir, "files"),
      HUB_WEB__DIR: resolve(here, "..", "dist"),
      HUB_BOOTSTRAP__ADMIN_PASSWORD: ADMIN.password,
      HUB_DELIVERY__BACKOFF_MS: "100",
      HUB_DELIVERY__POLL_MS: "100",
      HUB_PLUGIN__WEBHOOK__SETTINGS__SECRET: SECRET,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  child.stderr.on("data", (d) => log.push(d.toString()));
  const url = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`hub did not start:\n${out}\n${log.join("")}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /hub listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code) => fail(new Error(`hub exited (${code}):\n${out}\n${log.join("")}`)));
  });
  return {
    url,
    log,
    child,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, `${name}-hub.log`), log.join(""));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GraphQL over HTTP, for setting up what a test is not about. */
export async function gql(hub, token, query, variables = {}) {
  const response = await fetch(`${hub.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function signIn(hub, who = ADMIN) {
  const data = await gql(
    hub,
    null,
    "mutation ($t: String!, $e: String!, $p: String!) { signIn(tenant: $t, email: $e, password: $p) { token } }",
    { t: who.tenant, e: who.email, p: who.password },
  );
  return data.signIn.token;
}

/** Posts an inbound message to the hub as the integration would, signed. */
export async function postInbound(hub, event) {
  const body = JSON.stringify(event);
  const response = await fetch(`${hub.url}/webhooks/webhook/default`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature": sign(body) },
    body,
  });
  if (!response.ok) throw new Error(`inbound webhook answered ${response.status}: ${await response.text()}`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page of its own (cookies, storage) at the hub, 1440×900. */
export async function openPage(browser, hub) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: hub.url });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.errors = errors;
  return page;
}

export async function signInPage(page, who = ADMIN) {
  await page.goto("/");
  await page.getByLabel("Workspace").fill(who.tenant);
  await page.getByLabel("E-mail").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/**
 * What most browser tests share: the hub sending through the `webhook`
 * plugin to a fake integration, a browser, and an admin token.
 */
export async function startWorld(name) {
  const receiver = await startReceiver();
  const hub = await startHub(name, {
    HUB_PLUGIN__WEBHOOK__SETTINGS__URL: receiver.url,
    HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS: receiver.host,
  });
  const browser = await launchBrowser();
  const token = await signIn(hub);
  return {
    hub,
    receiver,
    browser,
    token,
    async close() {
      await browser.close();
      await hub.stop();
      receiver.close();
    },
  };
}
