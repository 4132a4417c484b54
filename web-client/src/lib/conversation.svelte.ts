// One open chat: its client, its history (older pages on demand) and live
// messages and delivery updates.

import { gql } from "./api";
import { subscribe } from "./live";
import { CHAT, CLIENT, HISTORY, MARK_READ, MESSAGE_ADDED, SEND, STATUS_CHANGED } from "./queries";
import type { ChatSummary, Client, DeliveryStatus, LiveConnection, Message, Transport } from "./types";
import { inbox } from "./inbox.svelte";

type MessageEvent = { cursor: string; kind: string; message: Message };

/** How far along delivery a status is; a failure is final. */
const PROGRESS: Record<DeliveryStatus, number> = { QUEUED: 0, SENT: 1, DELIVERED: 2, READ: 3, FAILED: 4 };

export class Conversation {
  chat = $state<ChatSummary | null>(null);
  client = $state<Client | null>(null);
  /** Oldest first, as the chat reads. */
  messages = $state<Message[]>([]);
  hasOlder = $state(false);
  loading = $state(true);
  error = $state("");
  private before: string | null = null;
  private stops: (() => void)[] = [];
  private marking: string | null = null;
  /** Closed before its first page arrived: nothing to follow. */
  private stopped = false;
  /** Settles when the first page, the chat and its client are loaded. */
  readonly ready: Promise<void>;

  constructor(readonly chatId: string) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    try {
      const [{ chat }, live] = await Promise.all([gql<{ chat: ChatSummary }>(CHAT, { id: this.chatId }), this.older()]);
      this.chat = chat;
      // Live from where the log stood as the history was read: a message
      // that arrived meanwhile is replayed, not lost.
      const apply = (e: MessageEvent) => this.put(e.message);
      if (this.stopped) return;
      this.stops.push(
        subscribe<{ messageAdded: MessageEvent }>(MESSAGE_ADDED, { chatId: this.chatId }, (d) => apply(d.messageAdded), live),
        subscribe<{ deliveryStatusChanged: MessageEvent }>(
          STATUS_CHANGED,
          { chatId: this.chatId },
          (d) => apply(d.deliveryStatusChanged),
          live,
        ),
      );
      await this.reloadClient();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.loading = false;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const stop of this.stops) stop();
    this.stops = [];
  }

  async reloadClient(): Promise<void> {
    if (!this.chat) return;
    this.client = (await gql<{ client: Client }>(CLIENT, { id: this.chat.clientId })).client;
  }

  /** Loads the page of history before what is shown; answers its `liveCursor`. */
  async older(): Promise<string> {
    const { chat } = await gql<{ chat: { messages: LiveConnection<Message> } }>(HISTORY, {
      id: this.chatId,
      before: this.before,
    });
    const page = chat.messages;
    const known = new Set(this.messages.map((m) => m.id));
    this.messages = [...page.nodes.filter((m) => !known.has(m.id)).reverse(), ...this.messages];
    this.hasOlder = page.pageInfo.hasNextPage;
    this.before = page.pageInfo.endCursor;
    return page.liveCursor;
  }

  /**
   * A message arrived or changed: replace it, or add it in time order. Live
   * events and a mutation's answer race, so an older status never replaces
   * a newer one.
   */
  put(message: Message): void {
    const at = this.messages.findIndex((m) => m.id === message.id);
    if (at >= 0) {
      if (PROGRESS[message.status] >= PROGRESS[this.messages[at]!.status]) this.messages[at] = message;
      return;
    }
    let index = this.messages.length;
    while (index > 0 && this.messages[index - 1]!.createdAt > message.createdAt) index--;
    this.messages.splice(index, 0, message);
  }

  async send(text: string, transport: Transport | null, templateId: string | null): Promise<void> {
    const { sendMessage } = await gql<{ sendMessage: Message }>(SEND, {
      input: {
        chatId: this.chatId,
        text: templateId ? null : text,
        templateId,
        transport,
        idempotencyKey: crypto.randomUUID(),
      },
    });
    this.put(sendMessage);
  }

  /** Marks everything inbound up to the newest message as read, once per message. */
  async markSeen(): Promise<void> {
    const newest = [...this.messages].reverse().find((m) => m.direction === "INBOUND");
    if (!newest || newest.readAt || this.marking === newest.id) return;
    this.marking = newest.id;
    const { markRead } = await gql<{ markRead: ChatSummary }>(MARK_READ, { chatId: this.chatId, upTo: newest.id });
    this.chat = markRead;
    inbox.upsert(markRead);
    const now = new Date().toISOString();
    for (const m of this.messages) if (m.direction === "INBOUND" && !m.readAt) m.readAt = now;
  }
}
