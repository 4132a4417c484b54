// Live updates over `graphql-transport-ws`. Each subscription keeps the
// cursor of the last event it saw in its own variables; graphql-ws sends the
// same payload object again when it reconnects, so a dropped connection
// resumes after that cursor and misses nothing.

import { createClient, type Client } from "graphql-ws";
import { authorization } from "./api";

let client: Client | null = null;
let status: (connected: boolean) => void = () => {};

/** Reports when the live connection drops and comes back. */
export function onLiveStatus(handler: (connected: boolean) => void): void {
  status = handler;
}

function connection(): Client {
  if (!client) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    client = createClient({
      url: `${scheme}://${location.host}/graphql/ws`,
      connectionParams: () => ({ authorization: authorization() }),
      lazy: true,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      keepAlive: 20_000,
      on: {
        connected: () => status(true),
        closed: () => status(false),
      },
    });
  }
  return client;
}

/** Closes the connection (on sign-out); the next subscription opens a new one. */
export function disconnect(): void {
  client?.dispose();
  client = null;
}

type Event = { cursor: string };

/**
 * Follows `query` live. `after` is the `liveCursor` of the page the caller
 * loaded: events since that read are replayed first, so none is missed.
 */
export function subscribe<T extends Record<string, Event>>(
  query: string,
  variables: Record<string, unknown>,
  onEvent: (data: T) => void,
  after: string | null = null,
): () => void {
  const payload = { query, variables: { ...variables, after } };
  return connection().subscribe<T>(payload, {
    next: (result) => {
      if (!result.data) return;
      const event = Object.values(result.data)[0];
      if (event?.cursor) payload.variables.after = event.cursor;
      onEvent(result.data as T);
    },
    error: (e) => console.warn("live update stopped", e),
    complete: () => {},
  });
}
