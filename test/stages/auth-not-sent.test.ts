import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { authStageFor } from "../../src/stages/auth";
import { pushImage } from "../helpers/push";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";
import { startTokenServer, type TokenServer } from "../peers/token-server";
import { passwordCred, runAuth } from "./auth-helpers";

/**
 * Issue 12 item 3 against real servers: an open distribution registry behind nginx, whose
 * `location = /v2/` is open and whose repository paths ask for Basic (auth_basic). Classic
 * Docker and podman send nothing there; containerd retries the 401 with credentials.
 */
const PW = "n0t-sent-Basic-pw";
let reg: RegistryPeer;
let nginx: NginxPeer;
let url = "";
// The Bearer variant: a token-auth registry whose /v2/ nginx answers itself, without a challenge.
let ts: TokenServer;
let tokenReg: RegistryPeer;
let bearerUrl = "";

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "not-sent" }));
  ts = await startTokenServer({ users: { alice: PW }, grants: { alice: { "team/app": ["pull"] }, "": { "public/app": ["pull"] } } });
  tokenReg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  for (const repo of ["public/app", "team/app"]) {
    const push = ts.issue("alice", [{ type: "repository", name: repo, actions: ["pull", "push"] }]);
    await pushImage(tokenReg.url, repo, "1.0", buildImage({ label: repo }), { authorization: `Bearer ${push}` });
  }
  const [port, bearerPort] = await freePorts(2);
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location = /v2/ { proxy_pass ${reg.url}; }
    location /v2/ {
      auth_basic "team";
      auth_basic_user_file htpasswd;
      proxy_pass ${reg.url};
    }
  }
  server {
    listen 127.0.0.1:${bearerPort};
    location = /v2/ { default_type application/json; add_header Docker-Distribution-Api-Version registry/2.0 always; return 200 '{}'; }
    location /v2/ { proxy_pass ${tokenReg.url}; }
  }`,
  });
  bearerUrl = `http://127.0.0.1:${bearerPort}`;
  // nginx reads {PLAIN} entries; the file sits in its prefix directory (the relative path above).
  writeFileSync(path.join(nginx.dir, "htpasswd"), `alice:{PLAIN}${PW}\n`);
  url = `http://127.0.0.1:${port}`;
}, 30_000);
afterAll(async () => {
  await Promise.all([nginx?.stop(), reg?.stop(), tokenReg?.stop(), ts?.stop()]);
});

type Retry = { authorizationScheme: string | null; status?: number };

describe("AUTH_NOT_SENT: /v2/ open, the repository asks for Basic (classic Docker judgement)", () => {
  test("with the right credentials configured: an error that says none were sent and what containerd does", async () => {
    const r = await runAuth(url, "team/app", passwordCred("alice", PW));
    expect(r.codes).toEqual(["AUTH_NOT_SENT"]);
    const f = r.out.findings[0]!;
    expect(f.severity).toBe("error");
    expect(f.detail).toContain("no Authorization was sent");
    expect(f.detail).toContain("Classic Docker and podman learn challenges only from the /v2/ ping");
    expect(f.detail).toContain("containerd and Docker's containerd image store retry the 401 with them");
    expect(f.detail).toContain("re-sent so (Basic as alice), the registry answered 200");
    expect(f.detail).not.toMatch(/rejects|rejected/);
    expect(f.fixes[0]).toContain("location /v2/");
    expect(f.fixes.join("\n")).toContain('"containerd-snapshotter": true');
    expect(f.fixes.join("\n")).toContain("ctr images pull --user alice");
    // The evidence: nothing on the HEAD Docker sends, Basic on the one re-send.
    expect((r.out.evidence.manifestHead as { authorizationScheme: string | null }).authorizationScheme).toBeNull();
    expect(r.out.evidence.retry as Retry).toMatchObject({ authorizationScheme: "basic", status: 200 });
    expect(r.out.provides).toBeUndefined();
  });

  test("with a wrong password: still AUTH_NOT_SENT (classic Docker sends nothing), and the re-send's 401 is said", async () => {
    const r = await runAuth(url, "team/app", passwordCred("alice", "wrong-pw-123"));
    expect(r.codes).toEqual(["AUTH_NOT_SENT"]);
    expect(r.main!.detail).toContain("re-sent so (Basic as alice), the registry refused it too (401)");
  });

  test("without credentials: AUTH_CREDENTIALS_REQUIRED that names the repository, never a token service", async () => {
    const r = await runAuth(url, "team/app", null);
    expect(r.codes).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    const f = r.main!;
    expect(f.detail).toContain("/v2/ asked for no credentials, but the repository answered 401");
    expect(f.detail).not.toContain("token service");
    expect(f.fixes[0]).toBe(`\`docker login 127.0.0.1:${new URL(url).port}\``);
    expect(f.fixes[1]).toContain("classic Docker and podman will still send none here (AUTH_NOT_SENT)");
  });

  test("skopeo (containers/image, which learns challenges from /v2/ only) fails with the same credentials", async () => {
    const skopeo = requireBinary("skopeo", "skopeo");
    const p = Bun.spawnSync(
      [skopeo, "inspect", "--tls-verify=false", "--creds", `alice:${PW}`, `docker://${new URL(url).host}/team/app:1.0`],
      { env: { PATH: process.env.PATH ?? "", HOME: nginx.dir } },
    );
    expect(p.exitCode).not.toBe(0);
    expect(p.stderr.toString()).toMatch(/reading manifest 1\.0 in 127\.0\.0\.1:\d+\/team\/app: .*(unauthorized|authentication required)/i);
  });
});

describe("AUTH_NOT_SENT judged for a client that retries a 401 with credentials (sendsOn401)", () => {
  const containerd = authStageFor({ client: "containerd", sendsOn401: true });

  test("right credentials: the pull works (AUTH_NOT_SENT is information about other clients), the session is Basic", async () => {
    const r = await runAuth(url, "team/app", passwordCred("alice", PW), { stage: containerd });
    expect(r.errors).toEqual(["AUTH_NOT_SENT"]);
    const f = r.main!;
    expect(f.severity).toBe("info");
    expect(f.detail).toContain("containerd retries the 401 with the credentials of alice");
    expect(f.detail).toContain("Classic Docker and podman learn challenges only from the /v2/ ping");
    expect(r.out.provides?.session?.scheme).toBe("basic");
    expect(r.codes).toContain("AUTH_BASIC_OVER_HTTP");
  });

  test("wrong password: AUTH_UNAUTHORIZED, whose evidence shows the Basic re-send", async () => {
    const r = await runAuth(url, "team/app", passwordCred("alice", "wrong-pw-456"), { stage: containerd });
    expect(r.errors).toEqual(["AUTH_UNAUTHORIZED"]);
    expect(r.out.evidence.retry as Retry).toMatchObject({ authorizationScheme: "basic", status: 401 });
  });
});

describe("AUTH_NOT_SENT with a Bearer challenge on the repository (/v2/ answers 200 itself)", () => {
  test("anonymous pull of a public repository: classic Docker never fetches the anonymous token ⇒ AUTH_NOT_SENT error", async () => {
    const r = await runAuth(bearerUrl, "public/app", null);
    expect(r.codes).toEqual(["AUTH_NOT_SENT"]);
    expect(r.main!.severity).toBe("error");
    expect(r.main!.detail).toContain("with a Bearer challenge, and no Authorization was sent");
    expect(r.main!.detail).toContain(`re-sent so (a token from ${ts.realm} (anonymous)), the registry answered 200`);
    expect(r.out.evidence.retry as Retry).toMatchObject({ authorizationScheme: "bearer", status: 200 });
  });

  test("the same judged for a client that retries: the pull goes on with the token session", async () => {
    const r = await runAuth(bearerUrl, "public/app", null, { stage: authStageFor({ client: "containerd", sendsOn401: true }) });
    expect(r.errors).toEqual(["AUTH_NOT_SENT"]);
    expect(r.main!.severity).toBe("info");
    expect(r.out.provides?.session?.scheme).toBe("bearer");
  });

  test("credentials for a private repository: AUTH_NOT_SENT, and the re-send fetched a token as alice", async () => {
    const r = await runAuth(bearerUrl, "team/app", passwordCred("alice", PW));
    expect(r.codes).toEqual(["AUTH_NOT_SENT"]);
    expect(r.main!.detail).toContain(`re-sent so (a token from ${ts.realm} (as alice)), the registry answered 200`);
  });

  test("anonymous, private repository: AUTH_CREDENTIALS_REQUIRED (the anonymous token grants nothing), never AUTH_DENIED", async () => {
    const r = await runAuth(bearerUrl, "team/app", null);
    expect(r.codes).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    expect(r.main!.detail).toContain("/v2/ asked for no credentials, but the repository answered 401");
  });
});
