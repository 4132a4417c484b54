// The shapes the screens use, as the GraphQL schema (schema/graphql) gives them.

export type Role = "ADMIN" | "TEAM_LEAD" | "AGENT" | "SALES_REP";
export type Transport = "TELEGRAM" | "WHATSAPP" | "SMS" | "EMAIL" | "INSTAGRAM" | "WEBSITE" | "PHONE" | "OTHER";
export type ContactKind = "EMAIL" | "PHONE" | "TELEGRAM" | "WHATSAPP" | "INSTAGRAM" | "WEBSITE" | "OTHER";
export type ConsentStatus = "UNKNOWN" | "OPTED_IN" | "OPTED_OUT";
export type DeliveryStatus = "QUEUED" | "SENT" | "DELIVERED" | "READ" | "FAILED";
export type Gender = "FEMALE" | "MALE" | "OTHER";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  createdAt: string;
}

export interface Contact {
  id: string;
  kind: ContactKind;
  value: string;
  label: string | null;
  transport: Transport;
  consent: { status: ConsentStatus; at: string | null; source: string | null };
}

export interface Client {
  id: string;
  firstName: string;
  lastName: string | null;
  middleName: string | null;
  displayName: string;
  gender: Gender | null;
  dateOfBirth: string | null;
  address: string | null;
  passportNumber: string | null;
  taxPin: string | null;
  notes: string | null;
  contacts: Contact[];
  createdAt: string;
  updatedAt: string;
  chat: { id: string } | null;
}

export interface ChatSummary {
  id: string;
  clientId: string;
  client: { id: string; displayName: string };
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  lastTransport: Transport | null;
  unreadCount: number;
}

export interface Attachment {
  blobId: string;
  fileName: string;
  contentType: string;
  size: number;
  url: string;
}

export interface Message {
  id: string;
  chatId: string;
  text: string;
  sender: { kind: string; displayName: string; userId: string | null };
  direction: "INBOUND" | "OUTBOUND";
  transport: Transport;
  attachments: Attachment[];
  createdAt: string;
  readAt: string | null;
  status: DeliveryStatus;
  failureReason: string | null;
}

export interface Template {
  id: string;
  name: string;
  text: string;
  updatedAt: string;
}

export interface AuditEvent {
  id: string;
  kind: string;
  actor: string;
  target: string;
  data: unknown;
  at: string;
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<T> {
  pageInfo: PageInfo;
  nodes: T[];
}

/** A page that can be followed live: subscribe with `after: liveCursor`. */
export interface LiveConnection<T> extends Connection<T> {
  liveCursor: string;
}
