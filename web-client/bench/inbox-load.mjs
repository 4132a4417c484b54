// How fast the inbox opens with many chats, measured in Chromium against the
// real hub: bytes the browser downloads for the app, and the time from
// navigation until the chat list shows its first page (time to interactive:
// the list is clickable and keyboard-navigable then).
//
//   cargo xtask bench web [-- --chats 1000 --runs 15]

import { performance } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { gql, launchBrowser, openPage, signIn, signInPage, startHub } from "../e2e/harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CHATS = arg("chats", 1000);
const RUNS = arg("runs", 15);

const hub = await startHub("bench");
try {
  const token = await signIn(hub);
  const seeded = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < CHATS; i = next++) {
      const { createClient } = await gql(hub, token, "mutation ($i: CreateClientInput!) { createClient(input: $i) { id } }", {
        i: { firstName: `Client ${i}`, lastName: "Sample", contacts: [{ kind: "PHONE", value: `+1202555${String(i).padStart(4, "0")}` }] },
      });
      const { openChat } = await gql(hub, token, "mutation ($c: ID!) { openChat(clientId: $c) { id } }", { c: createClient.id });
      await gql(hub, token, "mutation ($c: ID!, $t: String!) { logInboundMessage(input: { chatId: $c, text: $t, transport: PHONE }) { id } }", {
        c: openChat.id,
        t: `Call note ${i}: asked about delivery times and the oak table.`,
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  console.log(`seeded ${CHATS} clients with a chat and a message each in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

  const browser = await launchBrowser();
  const page = await openPage(browser, hub);
  await signInPage(page);
  const samples = [];
  let bytes = null;
  for (let run = 0; run < RUNS + 1; run++) {
    // A cold cache each time: what a first visit costs.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");
    await page.reload({ waitUntil: "commit" });
    await page.locator(".chats a").nth(49).waitFor();
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const resources = performance.getEntriesByType("resource");
      const app = [nav, ...resources.filter((r) => /\/assets\/|\.svg/.test(r.name))];
      return {
        listShown: performance.now(),
        domContentLoaded: nav.domContentLoadedEventEnd,
        appTransfer: app.reduce((n, r) => n + r.transferSize, 0),
        appDecoded: app.reduce((n, r) => n + r.decodedBodySize, 0),
        heap: performance.memory?.usedJSHeapSize ?? null,
        rendered: document.querySelectorAll(".chats a").length,
      };
    });
    if (run === 0) continue; // the first load warms the hub's caches
    samples.push(timing.listShown);
    bytes = timing;
  }
  await browser.close();
  samples.sort((a, b) => a - b);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  const result = {
    chats: CHATS,
    runs: RUNS,
    tti_ms: { min: samples[0], p50: q(0.5), p90: q(0.9), max: samples.at(-1) },
    dom_content_loaded_ms: bytes.domContentLoaded,
    app_transfer_bytes: bytes.appTransfer,
    app_decoded_bytes: bytes.appDecoded,
    js_heap_bytes: bytes.heap,
    chats_rendered: bytes.rendered,
  };
  console.log(`
inbox with ${CHATS} chats, ${RUNS} cold loads in Chromium
  time to interactive (first page of the list shown): p50 ${result.tti_ms.p50.toFixed(0)} ms, p90 ${result.tti_ms.p90.toFixed(0)} ms, min ${result.tti_ms.min.toFixed(0)}, max ${result.tti_ms.max.toFixed(0)}
  DOMContentLoaded: ${result.dom_content_loaded_ms.toFixed(0)} ms
  app download: ${(result.app_transfer_bytes / 1024).toFixed(1)} KiB on the wire (gzip), ${(result.app_decoded_bytes / 1024).toFixed(1)} KiB decoded
  JS heap after load: ${result.js_heap_bytes ? (result.js_heap_bytes / 1048576).toFixed(1) + " MiB" : "n/a"}; chats rendered: ${result.chats_rendered}`);
  writeFileSync(process.env.BENCH_OUT ?? "bench-inbox.json", JSON.stringify(result, null, 2));
} finally {
  await hub.stop();
}
