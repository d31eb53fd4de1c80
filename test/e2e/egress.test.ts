import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTokenServer, type TokenServer } from "../peers/token-server";

/**
 * `pulldoctor egress` through the compiled binary: a real docker-registry with token auth (the
 * test token server), behind nginx that redirects blobs to a "CDN" on 127.0.0.2 (a second
 * host, as a registry's storage is), and a second nginx server whose blob host is dead.
 */
type Entry = { host: string; port: number; roles: string[]; observed: boolean; reached: boolean; flag: string | null; addresses: string[] };

let ts: TokenServer;
let reg: RegistryPeer;
let nginx: NginxPeer;
let cdn: ReturnType<typeof Bun.serve>;
let home: { dir: string; cleanup: () => void };
const ports = { ok: 0, dead: 0, deadTarget: 0 };

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-egress-");
  ts = await startTokenServer({ grants: { "": { "team/app": ["pull"], "team/other": ["pull"] } } });
  reg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  const push = ts.issue("admin", [
    { type: "repository", name: "team/app", actions: ["pull", "push"] },
    { type: "repository", name: "team/other", actions: ["pull", "push"] },
  ]);
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "egress-a" }), { authorization: `Bearer ${push}` });
  await pushImage(reg.url, "team/other", "2.0", buildImage({ label: "egress-b" }), { authorization: `Bearer ${push}` });
  cdn = Bun.serve({
    port: 0,
    hostname: "127.0.0.2",
    // The registry's bytes, fetched with a token of the test's own: the CDN is what the redirect's signature authorises.
    fetch: (req) =>
      fetch(`${reg.url}${new URL(req.url).pathname}`, {
        headers: {
          range: req.headers.get("range") ?? "",
          authorization: `Bearer ${ts.issue("cdn", [{ type: "repository", name: new URL(req.url).pathname.split("/").slice(2, 4).join("/"), actions: ["pull"] }])}`,
        },
      }),
  });
  [ports.ok, ports.dead, ports.deadTarget] = [await freePort(), await freePort(), await freePort()];
  const rest = `location / { proxy_pass http://127.0.0.1:${reg.port}; }`;
  nginx = await startNginx({
    httpBlock: `
  server { listen 127.0.0.1:${ports.ok};   location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.2:${cdn.port}$request_uri?X-Amz-Signature=e2e-signature; } ${rest} }
  server { listen 127.0.0.1:${ports.dead}; location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.1:${ports.deadTarget}$request_uri; } ${rest} }`,
  });
});
afterAll(async () => {
  cdn?.stop(true);
  await Promise.all([nginx?.stop(), reg?.stop(), ts?.stop()]);
  home?.cleanup();
});

const common = () => ["--daemon-config", path.join(home.dir, "none.json"), "--certs-dir", path.join(home.dir, "certs.d"), "--timeout", "5"];
const tokenPort = () => Number(new URL(ts.realm).port);

describe("pulldoctor egress", () => {
  test("lists the registry, the token host and the blob redirect host; the CDN host is flagged as in no table", async () => {
    const r = await runCli(["egress", `127.0.0.1:${ports.ok}/team/app:1.0`, "--format", "json", ...common()], { home: home.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { egress: Entry[]; unreachable: string[]; images: { verdict: { ok: boolean } }[] };
    const at = (host: string, port: number) => out.egress.find((e) => e.host === host && e.port === port);
    expect(at("127.0.0.1", ports.ok)).toMatchObject({ roles: ["registry"], observed: true, reached: true, addresses: ["127.0.0.1"] });
    expect(at("127.0.0.1", tokenPort())).toMatchObject({ roles: ["token"], observed: true, reached: true });
    expect(at("127.0.0.2", cdn.port!)).toMatchObject({ roles: ["blob"], observed: true, reached: true });
    expect(at("127.0.0.2", cdn.port!)!.flag).toContain("blob host in no table");
    expect(out.egress).toHaveLength(3);
    expect(out.unreachable).toEqual([]);
    expect(out.images[0]!.verdict.ok).toBe(true);
    // The redirect's signature never reaches the output.
    expect(r.stdout + r.stderr).not.toContain("e2e-signature");
  });

  test("plain prints one host:port per line with its roles; csv has a header row", async () => {
    const image = `127.0.0.1:${ports.ok}/team/app:1.0`;
    const plain = await runCli(["egress", image, ...common()], { home: home.dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(
      plain.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/\s+/g, " ")),
    ).toEqual([`127.0.0.1:${ports.ok} registry`, `127.0.0.1:${tokenPort()} token`, `127.0.0.2:${cdn.port} blob (undocumented blob host)`]);
    const csv = await runCli(["egress", image, "--format", "csv", ...common()], { home: home.dir });
    const rows = csv.stdout.trimEnd().split("\r\n");
    expect(rows[0]).toBe("host,port,scheme,roles,via,observed,reached,addresses,documented,source,flag");
    expect(rows.slice(1).map((l) => l.split(",").slice(0, 7).join(","))).toEqual([
      `127.0.0.1,${ports.ok},http,registry,direct,true,true`,
      `127.0.0.1,${tokenPort()},http,token,direct,true,true`,
      `127.0.0.2,${cdn.port},http,blob,direct,true,true`,
    ]);
  });

  test("-f compose: the union over its images; a blob host that does not answer is needed and exits 1; bad entries are said and skipped", async () => {
    const file = path.join(home.dir, "compose.yaml");
    writeFileSync(
      file,
      [
        "services:",
        "  a:",
        `    image: 127.0.0.1:${ports.ok}/team/app:1.0`,
        "  b:",
        `    image: 127.0.0.1:${ports.dead}/team/other:2.0`,
        "  c:",
        `    image: 127.0.0.1:${ports.ok}/team/app:1.0`,
        "  bad:",
        "    image: Team/App",
        "  local:",
        "    build: .",
        "",
      ].join("\n"),
    );
    const r = await runCli(["egress", "-f", file, ...common()], { home: home.dir });
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n").filter(Boolean);
    // One token host for both registries (they share the realm), each blob host once.
    expect(lines.filter((l) => l.startsWith(`127.0.0.1:${tokenPort()} `))).toHaveLength(1);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${ports.deadTarget} +blob +\\(NOT REACHED from here`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^127\\.0\\.0\\.2:${cdn.port} +blob`)));
    expect(r.stderr).toContain(`127.0.0.1:${ports.deadTarget} (blob) is needed and did not answer from here`);
    expect(r.stderr).toContain(`compose.yaml, document 1, line 9 (service/bad), container bad: "Team/App"`);
    expect(r.stderr).toContain("is built locally, not pulled");
    expect(r.stderr).toContain("BLOB_REDIRECT_UNREACHABLE");
  });

  test("-f - reads kubectl get pods -o json from standard input: only the pods waiting on a pull", async () => {
    const pod = (name: string, image: string, reason: string | null) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { containers: [{ name: "c", image }] },
      status: { containerStatuses: [{ name: "c", image, state: reason ? { waiting: { reason, message: "x" } } : { running: {} } }] },
    });
    const stdin = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [pod("a", `127.0.0.1:${ports.ok}/team/app:1.0`, "ImagePullBackOff"), pod("b", `127.0.0.1:${ports.dead}/team/other:2.0`, null)],
    });
    const r = await runCli(["egress", "-f", "-", "--format", "json", ...common()], { home: home.dir, stdin });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { egress: Entry[]; images: { image: string }[] };
    expect(out.images.map((i) => i.image)).toEqual([`127.0.0.1:${ports.ok}/team/app:1.0`]);
    expect(out.egress.some((e) => e.port === ports.deadTarget)).toBe(false);
  });

  test("the single report of check carries the same egress list and validates against the schema", async () => {
    const r = await runCli(["check", `127.0.0.1:${ports.ok}/team/app:1.0`, "--json", ...common()], { home: home.dir });
    const report = JSON.parse(r.stdout);
    expectValidReport(report);
    expect((report.egress as Entry[]).map((e) => `${e.host}:${e.port} ${e.roles.join(",")}`)).toEqual([
      `127.0.0.1:${ports.ok} registry`,
      `127.0.0.1:${tokenPort()} token`,
      `127.0.0.2:${cdn.port} blob`,
    ]);
  });
});
