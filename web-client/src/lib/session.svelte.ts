// Who is signed in. The token lives in sessionStorage so that it ends with the
// browser tab, and is dropped as soon as the hub stops accepting it.

import { gql, setToken, whenUnauthenticated } from "./api";
import { disconnect } from "./live";
import { ME, SIGN_IN, SIGN_OUT } from "./queries";
import type { Role, User } from "./types";

const KEY = "hub.session";

interface Stored {
  token: string;
  tenant: string;
}

class Session {
  user = $state<User | null>(null);
  tenant = $state("");
  /** False until a stored token has been checked with the hub. */
  ready = $state(false);

  async restore(): Promise<void> {
    const raw = sessionStorage.getItem(KEY);
    const stored: Stored | null = raw ? JSON.parse(raw) : null;
    if (stored) {
      setToken(stored.token);
      this.tenant = stored.tenant;
      try {
        this.user = (await gql<{ me: User }>(ME)).me;
      } catch {
        this.clear();
      }
    }
    this.ready = true;
  }

  async signIn(tenant: string, email: string, password: string): Promise<void> {
    const { signIn } = await gql<{ signIn: { token: string; user: User } }>(SIGN_IN, {
      tenant,
      email,
      password,
    });
    setToken(signIn.token);
    sessionStorage.setItem(KEY, JSON.stringify({ token: signIn.token, tenant } satisfies Stored));
    this.tenant = tenant;
    this.user = signIn.user;
  }

  async signOut(): Promise<void> {
    try {
      await gql(SIGN_OUT);
    } finally {
      this.clear();
    }
  }

  clear(): void {
    disconnect();
    setToken(null);
    sessionStorage.removeItem(KEY);
    this.user = null;
  }

  can(action: "admin" | "audit" | "deleteClients"): boolean {
    const role: Role | undefined = this.user?.role;
    if (action === "admin") return role === "ADMIN";
    return role === "ADMIN" || role === "TEAM_LEAD";
  }
}

export const session = new Session();
whenUnauthenticated(() => session.clear());
