// GraphQL over HTTP: one request, typed errors the screens can show as is.

/** An error the hub answered with: `code` is its `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

let token: string | null = null;
let onUnauthenticated: () => void = () => {};

export function setToken(value: string | null): void {
  token = value;
}

export function authorization(): string | null {
  return token ? `Bearer ${token}` : null;
}

/** Called when the hub no longer accepts the token (expired or revoked). */
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

type GqlError = {
  message: string;
  extensions?: { code?: string; field?: string; retryAfter?: number };
};

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("The hub cannot be reached. Check your connection and try again.", "NETWORK");
  }
  let body: { data?: T; errors?: GqlError[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The hub answered ${response.status} without a result.`, "NETWORK");
  }
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? "ERROR";
    if (code === "UNAUTHENTICATED" && token) onUnauthenticated();
    throw new ApiError(first.message, code, first.extensions?.field, first.extensions?.retryAfter);
  }
  return body.data as T;
}

/** Downloads an attachment (the hub wants the same Authorization header). */
export async function download(url: string, fileName: string): Promise<void> {
  const auth = authorization();
  const response = await fetch(url, { headers: auth ? { authorization: auth } : {} });
  if (!response.ok) throw new ApiError(`The file could not be downloaded (${response.status}).`, "NETWORK");
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "RATE_LIMITED" && e.retryAfter)
      return `${e.message} Try again in ${Math.ceil(e.retryAfter / 60)} min.`;
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
