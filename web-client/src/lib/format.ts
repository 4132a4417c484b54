import type { ConsentStatus, ContactKind, DeliveryStatus, Transport } from "./types";

export const TRANSPORTS: Transport[] = ["SMS", "WHATSAPP", "TELEGRAM", "EMAIL", "INSTAGRAM", "WEBSITE", "PHONE", "OTHER"];
export const CONTACT_KINDS: ContactKind[] = ["PHONE", "WHATSAPP", "EMAIL", "TELEGRAM", "INSTAGRAM", "WEBSITE", "OTHER"];

const TRANSPORT_NAMES: Record<Transport, string> = {
  SMS: "SMS",
  WHATSAPP: "WhatsApp",
  TELEGRAM: "Telegram",
  EMAIL: "E-mail",
  INSTAGRAM: "Instagram",
  WEBSITE: "Website",
  PHONE: "Phone",
  OTHER: "Other",
};

export function transportName(t: Transport | null | undefined): string {
  return t ? TRANSPORT_NAMES[t] : "";
}

export function kindName(k: ContactKind): string {
  return k === "PHONE" ? "Phone" : k === "EMAIL" ? "E-mail" : transportName(k as Transport);
}

export const STATUS_NAMES: Record<DeliveryStatus, string> = {
  QUEUED: "Queued",
  SENT: "Sent",
  DELIVERED: "Delivered",
  READ: "Read",
  FAILED: "Failed",
};

export const CONSENT_NAMES: Record<ConsentStatus, string> = {
  UNKNOWN: "No consent recorded",
  OPTED_IN: "Opted in",
  OPTED_OUT: "Opted out",
};

const day = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const date = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Today: the time; earlier: the date. */
export function shortTime(iso: string | null): string {
  if (!iso) return "";
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? day.format(at) : date.format(at);
}

export function fullTime(iso: string | null): string {
  return iso ? full.format(new Date(iso)) : "";
}

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");
}

/** A contact as people read it: a website visitor's long opaque id is cut short. */
export function contactText(c: { kind: string; value: string }): string {
  return c.kind === "WEBSITE" && c.value.length > 16 ? `${c.value.slice(0, 14)}…` : c.value;
}
