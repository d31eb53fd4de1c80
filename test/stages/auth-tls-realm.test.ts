import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { selfSigned } from "../helpers/pki";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { startTokenServer, type TokenServer } from "../peers/token-server";
import { expectNoSecrets, passwordCred, runAuth } from "./auth-helpers";

/** A token service on HTTPS with a private CA: Docker fetches tokens with the registry's TLS settings (certs.d). */
const PW = "tls-realm-pw-1";
let ts: TokenServer, reg: RegistryPeer, cert: string;
let stopPki: () => void = () => {};

beforeAll(async () => {
  const pair = selfSigned({ cn: "auth.pd.test", sans: ["IP:127.0.0.1"] });
  stopPki = pair.cleanup;
  cert = pair.cert;
  ts = await startTokenServer({
    users: { alice: PW },
    grants: { alice: { "team/app": ["pull"] } },
    tls: { cert, key: pair.key },
  });
  reg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
});
afterAll(async () => {
  await Promise.all([reg?.stop(), ts?.stop()]);
  stopPki();
});

describe("auth: token realm over HTTPS", () => {
  test("realm CA in the registry's certs.d: token fetched, no plain-HTTP warning", async () => {
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW), { link: { tls: { ca: [cert], verify: true } } });
    expect(r.codes).toEqual([]);
    expect(ts.realm).toStartWith("https://");
    expectNoSecrets([r.out, r.ctx.trace.events], [PW]);
  });

  test("realm certificate not trusted → AUTH_TOKEN_SERVER_UNREACHABLE naming the TLS failure", async () => {
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW), { link: { tls: { ca: [], verify: true } } });
    expect(r.codes).toEqual(["AUTH_TOKEN_SERVER_UNREACHABLE"]);
    const realm = r.out.evidence.realm as { error: { kind: string; phase: string }; tcp: { ok: boolean } };
    expect(realm.error).toMatchObject({ kind: "tls", phase: "tls" });
    expect(realm.tcp.ok).toBe(true);
    const probe = (r.out.evidence.realm as { tls: { ok: boolean; verified: boolean; chain: { subject: string }[] } }).tls;
    expect(probe.ok).toBe(true);
    expect(probe.verified).toBe(false);
    expect(probe.chain[0]!.subject).toContain("auth.pd.test");
    expect(r.main!.fixes.join("\n")).toContain(`curl -sv "${ts.realm}"`);
    expect(r.main!.fixes.join("\n")).toContain(`/etc/docker/certs.d/${reg.host}/ca.crt`);
  });
});
