import { afterAll, describe, expect, test } from "bun:test";
import { passwordCred, runAuth } from "./auth-helpers";

/** Registry look-alikes whose /v2/ is fine but whose auth is broken, served over real sockets. */
const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function serve(handler: (req: Request) => Response | Promise<Response>): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

const registryHeaders = { "docker-distribution-api-version": "registry/2.0", "content-type": "application/json" };
const unauthorized = (wwwAuthenticate: string | null) =>
  new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
    status: 401,
    headers: wwwAuthenticate === null ? registryHeaders : { ...registryHeaders, "www-authenticate": wwwAuthenticate },
  });

describe("auth: challenges Docker cannot answer → AUTH_CHALLENGE_INVALID", () => {
  const cases: [string, string | null, string][] = [
    ["Bearer without realm", 'Bearer service="registry.example.com",scope="repository:team/app:pull"', "no realm"],
    ["Bearer realm that is not a URL", 'Bearer realm="/token",service="registry.example.com"', "not an absolute URL"],
    ["unquoted realm URL (parsing stops at ':')", "Bearer realm=https://auth.example.com/token,service=x", "not an absolute URL"],
    ["only Negotiate (an SSO gateway)", "Negotiate", "no Bearer or Basic"],
    ["quoted scheme", '"Bearer" realm="https://auth.example.com/token"', "no WWW-Authenticate challenge that parses"],
    ["401 without any WWW-Authenticate", null, "no WWW-Authenticate challenge that parses"],
  ];
  for (const [name, header, problem] of cases) {
    test(name, async () => {
      const url = serve(() => unauthorized(header));
      const r = await runAuth(url, "team/app", null);
      expect(r.codes).toEqual(["AUTH_CHALLENGE_INVALID"]);
      expect(r.out.findings[0]!.detail).toContain(problem);
      expect((r.out.evidence.challenge as { raw: string[] }).raw).toEqual(header === null ? [] : [header]);
      expect(r.out.provides).toBeUndefined();
    });
  }
});

describe("auth: the registry stops answering on the manifest → AUTH_NO_RESPONSE", () => {
  test("HEAD of the manifest hangs", async () => {
    const url = serve((req) => {
      if (new URL(req.url).pathname === "/v2/") return new Response("{}", { headers: registryHeaders });
      return new Promise<Response>(() => {});
    });
    const t0 = Date.now();
    const r = await runAuth(url, "team/app", null, { timeoutMs: 1200 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.codes).toEqual(["AUTH_NO_RESPONSE"]);
    expect((r.out.evidence.manifestHead as { error: { kind: string } }).error.kind).toBe("timeout");
  });
});

describe("auth: registries that answer 403", () => {
  test("403 DENIED on the manifest with Basic credentials → AUTH_DENIED", async () => {
    const url = serve((req) => {
      if (new URL(req.url).pathname === "/v2/") return unauthorized('Basic realm="corp"');
      return new Response(JSON.stringify({ errors: [{ code: "DENIED", message: "requested access to the resource is denied" }] }), {
        status: 403,
        headers: registryHeaders,
      });
    });
    const r = await runAuth(url, "team/app", passwordCred("alice", "pw-403-test"));
    expect(r.errors).toEqual(["AUTH_DENIED"]);
    expect(r.main!.detail).toContain("DENIED: requested access to the resource is denied");
  });
});
