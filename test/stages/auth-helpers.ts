import { expect } from "bun:test";
import type { Credential, Facts, LinkInfo } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import type { Stage, StageOutcome } from "../../src/model/stage";
import { authStage } from "../../src/stages/auth";
import { v2Stage } from "../../src/stages/v2";
import { endpointFor, testContext } from "../helpers/context";
import { expectFindingsMatchEvidence } from "../helpers/finding-claims";

/** Facts as the earlier stages would provide them for a loopback registry. */
export function factsFor(baseUrl: string, repository: string, tag = "1.0", over: Partial<LinkInfo> = {}): Facts {
  const u = new URL(baseUrl);
  const link: LinkInfo = {
    scheme: u.protocol === "https:" ? "https" : "http",
    baseUrl,
    tls: { ca: [], verify: true },
    insecure: true,
    ...over,
  };
  return {
    ref: {
      input: `${u.host}/${repository}:${tag}`,
      registry: u.host,
      repository,
      tag,
      digest: null,
      canonical: `${u.host}/${repository}:${tag}`,
      familiar: `${u.host}/${repository}:${tag}`,
    },
    resolution: { hostname: u.hostname, addresses: [{ address: "127.0.0.1", family: 4 }], via: "literal" },
    route: { url: null, auth: null, reason: "loopback is never proxied" },
    link,
  };
}

export function passwordCred(username: string, password: string): Credential {
  return { source: "auths[127.0.0.1] in /tmp/config.json", lookupKey: "127.0.0.1", username, password: new Secret(password) };
}

/** Run v2 then auth, as the runner would, and return auth's outcome with the context. */
export async function runAuth(
  baseUrl: string,
  repository: string,
  credential: Credential | null,
  opts: { link?: Partial<LinkInfo>; timeoutMs?: number; now?: () => Date; stage?: Stage } = {},
) {
  const facts: Facts = { ...factsFor(baseUrl, repository, "1.0", opts.link), credential };
  const ctx = testContext({
    endpoint: endpointFor(baseUrl),
    facts,
    options: { timeoutMs: opts.timeoutMs ?? 3000 },
    deps: opts.now ? { now: opts.now } : {},
  });
  const v2 = await v2Stage.run(ctx);
  expect(v2.findings).toEqual([]);
  const ctx2 = { ...ctx, facts: { ...facts, ...v2.provides } };
  const out: StageOutcome = await (opts.stage ?? authStage).run(ctx2);
  // Every auth stage run in the tests: no finding claims credentials its evidence (and the trace) shows were not sent.
  expectFindingsMatchEvidence(out.findings, ctx2.trace);
  const codes = out.findings.map((f) => f.code);
  // The loopback token realm is plain http: credentials to it always add the AUTH_BASIC_OVER_HTTP warning.
  const main = out.findings.find((f) => f.code !== "AUTH_BASIC_OVER_HTTP");
  return { out, v2, ctx: ctx2, codes, errors: codes.filter((c) => c !== "AUTH_BASIC_OVER_HTTP"), main };
}

/** Nothing the user must not see: no password, no token, no Authorization value. */
export function expectNoSecrets(what: unknown, secrets: string[]): void {
  const text = JSON.stringify(what);
  for (const s of secrets) if (s) expect(text).not.toContain(s);
  expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
}
