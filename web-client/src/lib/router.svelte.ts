// Routes live in the URL's fragment (`#/chat/<id>`), so every screen has a
// link that survives a reload and the hub serves one page for all of them.

export type Route =
  | { name: "inbox"; chatId: string | null }
  | { name: "newClient" }
  | { name: "templates" }
  | { name: "users" }
  | { name: "audit" };

function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  switch (parts[0]) {
    case "chat":
      return { name: "inbox", chatId: parts[1] ? decodeURIComponent(parts[1]) : null };
    case "clients":
      return { name: "newClient" };
    case "templates":
      return { name: "templates" };
    case "users":
      return { name: "users" };
    case "audit":
      return { name: "audit" };
    default:
      return { name: "inbox", chatId: null };
  }
}

class Router {
  route = $state<Route>(parse(location.hash));

  constructor() {
    addEventListener("hashchange", () => (this.route = parse(location.hash)));
  }
}

export const router = new Router();

export function go(path: string): void {
  location.hash = path;
}

export function chatPath(id: string): string {
  return `#/chat/${encodeURIComponent(id)}`;
}
