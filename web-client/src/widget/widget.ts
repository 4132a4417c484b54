// The website chat widget. A company adds
//   <script src="https://hub.example.com/widget.js" data-tenant="acme" async></script>
// to its pages; visitors chat with the team from a button in the corner.
// Everything lives in a shadow root, so the host page's styles neither leak
// in nor get touched. The source stays ASCII (entities in markup): a host
// page in another encoding reads the script in its own. The visitor's token stays in this site's localStorage,
// so the conversation survives reloads.

import { css } from "./style";

interface Shown {
  id: string;
  text: string;
  from: "visitor" | "team";
  name: string | null;
  at: string;
  pending?: boolean;
  failed?: boolean;
}

const script = document.currentScript as HTMLScriptElement | null;

function start(script: HTMLScriptElement) {
  const tenant = script.dataset.tenant;
  if (!tenant) {
    console.error("hub widget: add data-tenant=\"<your workspace>\" to the script tag");
    return;
  }
  const hub = new URL(script.src).origin;
  const title = script.dataset.title ?? "Chat with us";
  const greeting = script.dataset.greeting ?? "Hi! Ask us anything: we usually answer within a few minutes.";
  const api = `${hub}/widget/${encodeURIComponent(tenant)}/messages`;
  const tokenKey = `hub-widget:${hub}:${tenant}`;
  const token = localStorage.getItem(tokenKey) ?? newToken();
  localStorage.setItem(tokenKey, token);
  const headers = { authorization: `Visitor ${token}`, "content-type": "application/json" };

  const host = document.createElement("div");
  host.setAttribute("data-hub-widget", tenant);
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `<style>${css}</style>
    <button class="bubble" part="bubble" aria-label="${escape(title)}">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16v11H9l-5 4z"/></svg>
      <span class="badge" hidden></span>
    </button>
    <section class="panel" role="dialog" aria-label="${escape(title)}" hidden>
      <header><strong>${escape(title)}</strong><button class="close" aria-label="Close">&times;</button></header>
      <ol class="messages" aria-live="polite"><li class="note">${escape(greeting)}</li></ol>
      <p class="error" role="alert" hidden></p>
      <form>
        <textarea rows="2" placeholder="Write a message&hellip;" aria-label="Message"></textarea>
        <button type="submit" class="send">Send</button>
      </form>
    </section>`;
  document.body.appendChild(host);

  const $ = <T extends Element>(sel: string) => root.querySelector(sel) as T;
  const bubble = $<HTMLButtonElement>(".bubble");
  const badge = $<HTMLSpanElement>(".badge");
  const panel = $<HTMLElement>(".panel");
  const list = $<HTMLOListElement>(".messages");
  const error = $<HTMLParagraphElement>(".error");
  const form = $<HTMLFormElement>("form");
  const box = $<HTMLTextAreaElement>("textarea");

  let messages: Shown[] = [];
  let unread = 0;
  let open = false;
  let waiting: AbortController | null = null;

  const visible = () => open && document.visibilityState === "visible";

  function render() {
    const items = messages.map((m) => {
      const li = document.createElement("li");
      li.className = `msg ${m.from}${m.pending ? " pending" : ""}${m.failed ? " failed" : ""}`;
      if (m.from === "team" && m.name) {
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = m.name;
        li.append(who);
      }
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      li.append(text);
      if (m.failed) {
        const retry = document.createElement("button");
        retry.className = "retry";
        retry.textContent = "Not sent: retry";
        retry.onclick = () => send(m);
        li.append(retry);
      }
      return li;
    });
    list.replaceChildren(list.firstElementChild!, ...items);
    list.scrollTop = list.scrollHeight;
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
  }

  function merge(fetched: Shown[]) {
    const known = new Set(messages.filter((m) => !m.pending && !m.failed).map((m) => m.id));
    const arrived = fetched.filter((m) => !known.has(m.id) && m.from === "team").length;
    // Messages still being sent stay at the end until the hub has them.
    const stillOurs = messages.filter((m) => (m.pending || m.failed) && !fetched.some((f) => f.text === m.text && f.from === "visitor"));
    messages = [...fetched, ...stillOurs];
    if (!visible()) unread += arrived;
    render();
  }

  /** Fetches the conversation, then waits for what comes next, forever. */
  async function follow() {
    for (;;) {
      waiting = new AbortController();
      const newest = messages.filter((m) => !m.pending && !m.failed).at(-1)?.id ?? "";
      const query = new URLSearchParams({ after: newest, wait: "25", seen: String(visible()) });
      try {
        const response = await fetch(`${api}?${query}`, { headers, signal: waiting.signal });
        if (!response.ok) throw new Error(`${response.status}`);
        merge((await response.json()).messages);
        error.hidden = true;
      } catch (e) {
        if ((e as Error).name !== "AbortError") await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  /** Starts the next fetch at once (the window opened, a message went out). */
  function refresh() {
    waiting?.abort();
  }

  async function send(m: Shown) {
    m.pending = true;
    m.failed = false;
    render();
    try {
      const response = await fetch(api, {
        method: "POST",
        headers,
        body: JSON.stringify({ id: m.id, text: m.text }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new Error(body?.error?.message ?? `the chat answered ${response.status}`);
      }
      refresh();
    } catch (e) {
      m.pending = false;
      m.failed = true;
      error.textContent = `Your message was not sent (${(e as Error).message}). Try again.`;
      error.hidden = false;
      render();
    }
  }

  function toggle(to: boolean) {
    open = to;
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    if (open) {
      unread = 0;
      render();
      box.focus();
      refresh();
    }
  }

  bubble.onclick = () => toggle(!open);
  $<HTMLButtonElement>(".close").onclick = () => toggle(false);
  document.addEventListener("visibilitychange", () => visible() && refresh());
  form.onsubmit = (e) => {
    e.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    const m: Shown = { id: crypto.randomUUID(), text, from: "visitor", name: null, at: new Date().toISOString() };
    messages.push(m);
    send(m);
  };
  box.onkeydown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  };
  follow();
}

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

if (script) {
  if (document.body) start(script);
  else addEventListener("DOMContentLoaded", () => start(script));
}
