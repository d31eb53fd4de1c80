import { createPrivateKey, type KeyObject, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { selfSigned } from "../helpers/pki";

/**
 * A token server as the distribution token spec describes it (docs/spec/auth/token.md, oauth.md),
 * written here so that every fault can be produced on demand. It signs real ES256 JWTs whose
 * header carries the signing certificate in `x5c`: distribution 2.8 (registry/auth/token/token.go
 * VerifySigningKey) verifies that chain against the registry's `rootcertbundle`, then the
 * signature, `iss`, `aud` (= service), `nbf`/`exp` with 60 s leeway, and the `access` claim.
 */
export type TokenFault =
  | "malformed-json" // 200 with a body that is not JSON
  | "no-token" // 200 with JSON but no token/access_token
  | "nbf-future" // token valid only from 10 min in the future
  | "expired" // token expired 10 min ago
  | "server-error" // 500 on every request
  | "post-no-access"; // POST grants nothing (a token server mishandling the OAuth form)

export interface TokenServerOptions {
  service?: string;
  issuer?: string;
  /** user → password. */
  users?: Record<string, string>;
  /** refresh token → user (an `identitytoken` in config.json). */
  refreshTokens?: Record<string, string>;
  /** user ("" = anonymous) → repository → actions granted. */
  grants?: Record<string, Record<string, string[]>>;
  /** Anonymous requests are answered 401 (instead of a token with only the anonymous grants). */
  refuseAnonymous?: boolean;
  /** POST /token is not implemented (404), as some servers do. */
  noPost?: boolean;
  fault?: TokenFault;
  /** Seconds added to this server's `Date` header and to the token times it issues (a skewed clock). */
  clockSkewSeconds?: number;
  expiresIn?: number;
  /** Serve over HTTPS with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
}

export interface TokenRequestLog {
  method: string;
  params: Record<string, string>;
  basicUser: string | null;
  form: Record<string, string> | null;
}

export interface TokenServer {
  url: string;
  realm: string;
  service: string;
  issuer: string;
  /** PEM path of the signing certificate: the registry's rootcertbundle. */
  rootCertBundle: string;
  requests: TokenRequestLog[];
  /** Change behaviour between requests. */
  options: TokenServerOptions;
  /** Sign a token directly (tests that need a token the server would never issue). */
  issue(
    sub: string,
    access: { type: string; name: string; actions: string[] }[],
    times?: { nbf?: number; exp?: number; iat?: number },
  ): string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const signer = selfSigned({ cn: "pulldoctor test token signer", sans: [] });
  const { keyFile: keyPath, certFile: certPath, cleanup } = signer;
  const key: KeyObject = createPrivateKey(readFileSync(keyPath));
  const der = readFileSync(certPath, "utf8")
    .replace(/-----[^-]+-----/g, "")
    .replace(/\s+/g, "");
  const state = { service: opts.service ?? "pulldoctor-test-registry", issuer: opts.issuer ?? "pulldoctor-test-issuer" };
  const requests: TokenRequestLog[] = [];
  const options: TokenServerOptions = { ...opts };
  const now = () => Math.floor(Date.now() / 1000) + (options.clockSkewSeconds ?? 0);

  const issue: TokenServer["issue"] = (sub, access, times = {}) => {
    const t = now();
    const header = { typ: "JWT", alg: "ES256", x5c: [der] };
    const claims = {
      iss: state.issuer,
      sub,
      aud: state.service,
      exp: times.exp ?? t + (options.expiresIn ?? 300),
      nbf: times.nbf ?? t - 1,
      iat: times.iat ?? t,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    return `${input}.${b64url(sig)}`;
  };

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", date: new Date(now() * 1000).toUTCString() },
    });

  // scope grammar: resourcetype[(class)]:name:actions — the name may hold "host:port", so split from both ends.
  const parseScope = (s: string) => {
    const first = s.indexOf(":");
    const last = s.lastIndexOf(":");
    if (first < 0 || last <= first) return null;
    return { type: s.slice(0, first).replace(/\(.*\)$/, ""), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(",") };
  };

  const grantFor = (user: string, scopes: string[], post: boolean) => {
    if (post && options.fault === "post-no-access") return [];
    const table = options.grants?.[user] ?? {};
    const anon = options.grants?.[""] ?? {};
    const out: { type: string; name: string; actions: string[] }[] = [];
    for (const s of scopes) {
      const sc = parseScope(s);
      if (sc?.type !== "repository") continue;
      const allowed = new Set([...(table[sc.name] ?? table["*"] ?? []), ...(anon[sc.name] ?? anon["*"] ?? [])]);
      const actions = sc.actions.filter((a) => allowed.has(a));
      if (actions.length) out.push({ type: sc.type, name: sc.name, actions });
    }
    return out;
  };

  const answer = (user: string, scopes: string[], post: boolean): Response => {
    if (options.fault === "malformed-json")
      return new Response("<html><body>token service maintenance</body></html>", { status: 200, headers: { "content-type": "text/html" } });
    if (options.fault === "no-token") return json(200, { expires_in: 300, issued_at: new Date(now() * 1000).toISOString() });
    const t = now();
    const times =
      options.fault === "nbf-future"
        ? { nbf: t + 600, iat: t + 600, exp: t + 900 }
        : options.fault === "expired"
          ? { nbf: t - 900, iat: t - 900, exp: t - 600 }
          : {};
    const token = issue(user, grantFor(user, scopes, post), times);
    const body: Record<string, unknown> = {
      expires_in: options.expiresIn ?? 300,
      issued_at: new Date((times.iat ?? t) * 1000).toISOString(),
    };
    if (post) body.access_token = token;
    else body.token = body.access_token = token;
    return json(200, body);
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...(opts.tls ? { tls: opts.tls } : {}),
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname !== "/token") return new Response("not found", { status: 404 });
      const auth = req.headers.get("authorization");
      let basicUser: string | null = null;
      let basicPass: string | null = null;
      if (auth?.startsWith("Basic ")) {
        const dec = Buffer.from(auth.slice(6), "base64").toString("utf8");
        const i = dec.indexOf(":");
        basicUser = dec.slice(0, i);
        basicPass = dec.slice(i + 1);
      }
      const params = Object.fromEntries(u.searchParams);
      if (req.method === "POST") {
        const form = Object.fromEntries(new URLSearchParams(await req.text()));
        requests.push({ method: "POST", params, basicUser, form });
        if (options.fault === "server-error") return json(500, { errors: [{ code: "UNKNOWN", message: "token service failed" }] });
        if (options.noPost) return new Response("404 page not found", { status: 404 });
        let user: string | undefined;
        if (form.grant_type === "refresh_token") user = options.refreshTokens?.[form.refresh_token ?? ""];
        else if (form.grant_type === "password" && form.username && options.users?.[form.username] === form.password) user = form.username;
        if (!user) return json(401, { details: "incorrect username or password" });
        return answer(user, (form.scope ?? "").split(" ").filter(Boolean), true);
      }
      requests.push({ method: req.method, params, basicUser, form: null });
      if (options.fault === "server-error") return json(500, { errors: [{ code: "UNKNOWN", message: "token service failed" }] });
      const scopes = u.searchParams.getAll("scope");
      if (basicUser !== null) {
        if (options.users?.[basicUser] !== basicPass) return json(401, { details: "incorrect username or password" });
        return answer(basicUser, scopes, false);
      }
      if (options.refuseAnonymous) return json(401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      return answer("", scopes, false);
    },
  });
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  return {
    url,
    realm: `${url}/token`,
    service: state.service,
    issuer: state.issuer,
    rootCertBundle: certPath,
    requests,
    options,
    issue,
    stop: async () => {
      server.stop(true);
      cleanup();
    },
  };
}
