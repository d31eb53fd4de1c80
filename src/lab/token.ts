import { randomBytes } from "node:crypto";
import { LAB_SERVICE, sendError } from "./faults";
import type { WireRequest, WireResponse } from "./wire";

/**
 * The lab's token server (distribution's token auth spec): GET /token?service=&scope=
 * with optional Basic credentials, and the OAuth2 POST form. A repository with an
 * auth-required fault is only granted to its credentials; anonymous requests for it are
 * refused with 401, as registries that disable anonymous pulls do.
 */
export interface Protected {
  username: string;
  password: string;
}

interface Grant {
  repos: Set<string>;
  expires: number;
}

const TOKEN_TTL_S = 300;

export class TokenAuthority {
  private readonly tokens = new Map<string, Grant>();
  private readonly refresh = new Map<string, string>();

  constructor(private readonly protectedRepo: (repo: string) => Protected | null) {}

  /** Repositories a request's Bearer token may read. */
  granted(authorization: string | undefined): Set<string> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    const g = m ? this.tokens.get(m[1]!) : undefined;
    if (!g || g.expires < Date.now()) return new Set();
    return g.repos;
  }

  /** A token this authority issued and that has not expired (whatever it grants). */
  valid(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    const g = m ? this.tokens.get(m[1]!) : undefined;
    return g !== undefined && g.expires >= Date.now();
  }

  handle(req: WireRequest, res: WireResponse) {
    let user: { username: string; password: string } | null = null;
    let scopes: string[];
    let offline = false;
    if (req.method === "POST") {
      const form = new URLSearchParams(new TextDecoder().decode(req.body));
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      offline = form.get("access_type") === "offline";
      if (form.get("grant_type") === "password") {
        user = { username: form.get("username") ?? "", password: form.get("password") ?? "" };
      } else if (form.get("grant_type") === "refresh_token") {
        const who = this.refresh.get(form.get("refresh_token") ?? "");
        if (!who) return sendError(res, 401, "UNAUTHORIZED", "invalid refresh token");
        user = JSON.parse(who) as { username: string; password: string };
      } else {
        return sendError(res, 400, "UNSUPPORTED", "unsupported grant_type");
      }
    } else {
      scopes = req.query.getAll("scope");
      offline = req.query.get("offline_token") === "true";
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      if (basic) {
        const text = Buffer.from(basic[1]!, "base64").toString("utf8");
        const i = text.indexOf(":");
        user = { username: text.slice(0, i), password: text.slice(i + 1) };
      }
    }
    const service = req.method === "POST" ? null : req.query.get("service");
    if (service !== null && service !== LAB_SERVICE) {
      return sendError(res, 400, "UNSUPPORTED", `unknown service ${JSON.stringify(service)}; this token server serves ${LAB_SERVICE}`);
    }
    const repos = new Set<string>();
    for (const s of scopes) {
      // repository:NAME:ACTIONS — NAME may itself contain ':' (host:port), so split from both ends.
      const first = s.indexOf(":");
      const last = s.lastIndexOf(":");
      if (first < 0 || last === first || s.slice(0, first).replace(/\(.*\)$/, "") !== "repository") continue;
      repos.add(s.slice(first + 1, last));
    }
    // Any user other than a protected repository's own is refused outright (bad credentials).
    for (const repo of repos) {
      const p = this.protectedRepo(repo);
      if (!p) continue;
      if (!user) {
        return res.send(
          401,
          { "Content-Type": "application/json", "WWW-Authenticate": `Basic realm="${LAB_SERVICE}"` },
          JSON.stringify({ details: "anonymous access is disabled for this repository: log in first" }),
        );
      }
      if (user.username !== p.username || user.password !== p.password) {
        return res.send(
          401,
          { "Content-Type": "application/json", "WWW-Authenticate": `Basic realm="${LAB_SERVICE}"` },
          JSON.stringify({ details: "incorrect username or password" }),
        );
      }
    }
    const token = `lab-${randomBytes(24).toString("hex")}`;
    this.tokens.set(token, { repos, expires: Date.now() + TOKEN_TTL_S * 1000 });
    const out: Record<string, unknown> = { token, access_token: token, expires_in: TOKEN_TTL_S, issued_at: new Date().toISOString() };
    if (offline && user) {
      const rt = `lab-refresh-${randomBytes(16).toString("hex")}`;
      this.refresh.set(rt, JSON.stringify(user));
      out.refresh_token = rt;
    }
    res.send(200, { "Content-Type": "application/json" }, JSON.stringify(out));
  }
}
