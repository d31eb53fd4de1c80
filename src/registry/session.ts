import type { AuthChallenge, AuthSession, Credential } from "../model/facts";
import { Secret } from "../model/secret";
import { basicAuthorization } from "../net/origin";
import type { HttpClient } from "./http";
import { fetchToken, type TokenResult } from "./token";

/**
 * How requests for one repository are authorized, for the auth stage and the pull engine:
 * - bearer: a token per scope from the challenge's realm, cached and fetched again shortly
 *   before it expires (a long pull outlives a 60 s token) or after invalidate() (a 401);
 *   a config.json `registrytoken` is sent as the bearer itself, as Docker does;
 * - basic: the credentials on every request;
 * - none: an open registry.
 */
export interface SessionConfig {
  scheme: "bearer" | "basic" | "none";
  challenge: AuthChallenge | null;
  credential: Credential | null;
  repository: string;
  /** Credentials may travel to the realm/registry (false over plain http unless insecure by configuration). */
  sendCredentials: boolean;
  /** A client for the token realm (its own host, DNS and proxy decision); closed after each fetch. */
  realmClient: () => HttpClient;
  now: () => Date;
}

interface Cached {
  result: TokenResult;
  /** Local time (ms) after which we fetch again. */
  refreshAt: number;
}

/** Fetch again before expiry: a quarter of the lifetime early, at most 30 s. */
export function refreshMarginMs(expiresIn: number): number {
  return Math.min(30_000, (expiresIn * 1000) / 4);
}

export class RegistrySession implements AuthSession {
  readonly scheme: "bearer" | "basic" | "none";
  /** Every token fetched (newest last): evidence for the auth stage. */
  readonly fetched: TokenResult[] = [];
  readonly #cfg: SessionConfig;
  readonly #cache = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<TokenResult>>();

  constructor(cfg: SessionConfig) {
    this.#cfg = cfg;
    this.scheme = cfg.scheme;
  }

  get defaultScope(): string {
    return `repository:${this.#cfg.repository}:pull`;
  }

  /** The Authorization value for `scope`; throws TokenError when a token cannot be had. */
  async authorize(scope?: string): Promise<Secret | null> {
    const c = this.#cfg;
    const cred = c.sendCredentials ? c.credential : null;
    if (c.scheme === "none") return null;
    if (c.scheme === "basic") {
      if (!cred?.username || !cred.password) return null;
      return basicAuthorization(cred.username, cred.password);
    }
    if (cred?.registryToken) return new Secret(`Bearer ${cred.registryToken.reveal()}`);
    const t = await this.token(scope ?? this.defaultScope);
    return new Secret(`Bearer ${t.token.reveal()}`);
  }

  /** The current token for a scope (fetching or refreshing it). */
  async token(scope: string): Promise<TokenResult> {
    const hit = this.#cache.get(scope);
    if (hit && this.#cfg.now().getTime() < hit.refreshAt) return hit.result;
    const pending = this.#inflight.get(scope);
    if (pending) return pending;
    const p = this.#fetch(scope).finally(() => this.#inflight.delete(scope));
    this.#inflight.set(scope, p);
    return p;
  }

  invalidate(): void {
    this.#cache.clear();
  }

  async #fetch(scope: string): Promise<TokenResult> {
    const c = this.#cfg;
    const client = c.realmClient();
    try {
      const r = await fetchToken({
        realm: c.challenge?.params.realm ?? "",
        service: c.challenge?.params.service,
        scopes: [scope],
        credential: c.credential,
        sendCredentials: c.sendCredentials,
        client,
        now: c.now,
      });
      this.fetched.push(r);
      this.#cache.set(scope, { result: r, refreshAt: r.receivedAt.getTime() + r.expiresIn * 1000 - refreshMarginMs(r.expiresIn) });
      return r;
    } finally {
      await client.close();
    }
  }
}
