import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { expectNoSecrets, passwordCred, runAuth } from "./auth-helpers";

const PW = "b4sic-s3cret-pw";
let open: RegistryPeer, basic: RegistryPeer;
const basicAuth = { authorization: `Basic ${Buffer.from(`alice:${PW}`).toString("base64")}` };

beforeAll(async () => {
  [open, basic] = await Promise.all([startRegistry(), startRegistry({ htpasswd: { alice: PW } })]);
  await pushImage(open.url, "team/app", "1.0", buildImage({}));
  await pushImage(basic.url, "team/app", "1.0", buildImage({}), basicAuth);
});
afterAll(async () => {
  await Promise.all([open?.stop(), basic?.stop()]);
});

describe("auth: open and Basic registries", () => {
  test("open registry, anonymous: HEAD 200, session 'none'", async () => {
    const r = await runAuth(open.url, "team/app", null);
    expect(r.codes).toEqual([]);
    expect(r.out.provides?.session?.scheme).toBe("none");
    expect((r.out.evidence.manifestHead as { status: number }).status).toBe(200);
    expect(await r.out.provides!.session!.authorize()).toBeNull();
  });

  test("open registry, missing repository: 404 is authorized (the manifest stage judges it)", async () => {
    const r = await runAuth(open.url, "nosuch/repo", null);
    expect(r.codes).toEqual([]);
    expect(r.out.summary).toContain("404");
  });

  test("Basic registry without credentials → AUTH_CREDENTIALS_REQUIRED with the docker login line", async () => {
    const r = await runAuth(basic.url, "team/app", null);
    expect(r.codes).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    expect(r.out.findings[0]!.fixes[0]).toBe(`\`docker login ${basic.host}\``);
  });

  test("Basic registry with the right password over insecure http: passes, warns AUTH_BASIC_OVER_HTTP, never leaks", async () => {
    const r = await runAuth(basic.url, "team/app", passwordCred("alice", PW));
    expect(r.codes).toEqual(["AUTH_BASIC_OVER_HTTP"]);
    expect(r.out.findings[0]!.severity).toBe("warning");
    expect(r.out.findings[0]!.detail).toContain("sent");
    // Loopback, not in insecure-registries: the words must not claim a configuration the user does not have.
    expect(r.out.findings[0]!.detail).toEndWith("sent, as Docker does for a registry it treats as insecure.");
    expect(r.out.findings[0]!.fixes.join("\n")).not.toContain("remove it from insecure-registries");
    expect(r.out.provides?.session?.scheme).toBe("basic");
    expect((r.out.evidence.manifestHead as { status: number }).status).toBe(200);
    expectNoSecrets([r.out, r.v2, r.ctx.trace.events], [PW, Buffer.from(`alice:${PW}`).toString("base64")]);
  });

  test("Basic registry with a wrong password → AUTH_UNAUTHORIZED", async () => {
    const r = await runAuth(basic.url, "team/app", passwordCred("alice", "wrong-password-123"));
    expect(r.codes).toEqual(["AUTH_BASIC_OVER_HTTP", "AUTH_UNAUTHORIZED"]);
    const f = r.out.findings[1]!;
    expect(f.detail).toContain("registry answered 401");
    expect(f.fixes.join("\n")).toContain(`docker login ${basic.host}`);
    expect((r.out.evidence.manifestHead as { errors: string[] }).errors).toEqual(["UNAUTHORIZED: authentication required"]);
    expectNoSecrets([r.out, r.ctx.trace.events], ["wrong-password-123"]);
    // Credentials from --username: the fix points at what was piped in, not at a stored entry.
    const flagged = await runAuth(basic.url, "team/app", { ...passwordCred("alice", "wrong-password-123"), source: "--username" });
    expect(flagged.out.findings[1]!.fixes).toContain(
      "These were this run's --username alice / --password-stdin: check the user name and the password (or access token) piped in; nothing stored was used",
    );
  });

  test("credentials are not sent over plain http to a registry that is not insecure", async () => {
    const r = await runAuth(basic.url, "team/app", passwordCred("alice", PW), { link: { insecure: false } });
    expect(r.codes).toEqual(["AUTH_BASIC_OVER_HTTP", "AUTH_CREDENTIALS_REQUIRED"]);
    expect(r.out.findings[0]!.detail).toContain("not sent");
    expect(r.out.findings[1]!.detail).toContain("withheld");
    const head = r.ctx.trace.events.filter((e) => e.kind === "http" && e.method === "HEAD");
    expect(head.length).toBe(1);
    expect(head[0]!.kind === "http" && head[0]!.requestHeaders.authorization).toBeUndefined();
  });
});
