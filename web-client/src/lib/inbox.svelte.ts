// The chat list: loaded page by page, kept current by `chatUpdated`.

import { gql } from "./api";
import { subscribe } from "./live";
import { CHATS, CHAT_UPDATED, CLIENT_CHANGED } from "./queries";
import type { ChatSummary, LiveConnection, Transport } from "./types";

const PAGE = 50;

class Inbox {
  chats = $state<ChatSummary[]>([]);
  unreadOnly = $state(false);
  transport = $state<Transport | null>(null);
  hasMore = $state(false);
  loading = $state(false);
  error = $state("");
  private cursor: string | null = null;
  private stops: (() => void)[] = [];
  /** Chats updated live while a reload is in flight. */
  private liveWhileLoading: Map<string, ChatSummary> | null = null;

  /** Loads the first page for the current filters and starts live updates. */
  async load(): Promise<void> {
    this.loading = true;
    this.error = "";
    // On a reload (new filters) live updates are already running: chats
    // they change while the page loads keep their newer state.
    this.liveWhileLoading = new Map();
    try {
      const page = await this.fetch(null);
      const early = this.liveWhileLoading;
      this.chats = page.nodes.map((c) => early.get(c.id) ?? c);
      for (const c of early.values()) if (!this.chats.some((x) => x.id === c.id)) this.upsert(c);
      this.hasMore = page.pageInfo.hasNextPage;
      this.cursor = page.pageInfo.endCursor;
      // Live updates start from where the log stood as the page was read,
      // so a message that arrived meanwhile is replayed, not lost.
      if (!this.stops.length) this.follow(page.liveCursor);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.liveWhileLoading = null;
      this.loading = false;
    }
  }

  private follow(after: string): void {
    this.stops.push(
      subscribe<{ chatUpdated: { cursor: string; chat: ChatSummary } }>(
        CHAT_UPDATED,
        {},
        ({ chatUpdated }) => this.upsert(chatUpdated.chat),
        after,
      ),
      // A renamed client shows under the new name; a deleted one leaves the list.
      subscribe<{ clientChanged: { cursor: string; client: { id: string; displayName: string; deletedAt: string | null } } }>(
        CLIENT_CHANGED,
        {},
        ({ clientChanged: { client } }) => {
          if (client.deletedAt) this.chats = this.chats.filter((c) => c.clientId !== client.id);
          else for (const c of this.chats) if (c.clientId === client.id) c.client.displayName = client.displayName;
        },
        after,
      ),
    );
  }

  async more(): Promise<void> {
    if (!this.hasMore || this.loading) return;
    this.loading = true;
    try {
      const page = await this.fetch(this.cursor);
      const known = new Set(this.chats.map((c) => c.id));
      this.chats.push(...page.nodes.filter((c) => !known.has(c.id)));
      this.hasMore = page.pageInfo.hasNextPage;
      this.cursor = page.pageInfo.endCursor;
    } finally {
      this.loading = false;
    }
  }

  private async fetch(after: string | null): Promise<LiveConnection<ChatSummary>> {
    const { chats } = await gql<{ chats: LiveConnection<ChatSummary> }>(CHATS, {
      first: PAGE,
      after,
      unreadOnly: this.unreadOnly,
      transport: this.transport,
    });
    return chats;
  }

  /** A chat changed: put it where its last message places it. */
  upsert(chat: ChatSummary): void {
    this.liveWhileLoading?.set(chat.id, chat);
    const rest = this.chats.filter((c) => c.id !== chat.id);
    const matches =
      (!this.unreadOnly || chat.unreadCount > 0) &&
      (!this.transport || chat.lastTransport === this.transport);
    if (!matches) {
      this.chats = rest;
      return;
    }
    const at = chat.lastMessageAt ?? "";
    const index = rest.findIndex((c) => (c.lastMessageAt ?? "") < at);
    if (index === -1) {
      // Older than everything loaded: only show it if the list is complete.
      if (!this.hasMore) rest.push(chat);
    } else {
      rest.splice(index, 0, chat);
    }
    this.chats = rest;
  }

  reset(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    this.chats = [];
  }
}

export const inbox = new Inbox();
