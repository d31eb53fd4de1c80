import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { hermetic } from "./helpers-net";

/**
 * Egress through a real proxy (tinyproxy): the registry (docker-registry with TLS, addressed as
 * 0.0.0.0:PORT so Go's rules proxy it and no DNS is needed) is listed via proxy, and the proxy
 * itself with its role and address; a dead proxy is a needed host that did not answer.
 */
let ca: CA;
let reg: RegistryPeer;
let proxy: TinyproxyPeer;
let home: { dir: string; cleanup: () => void };
let certsDir: string;
let target: string;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-egress-proxy-");
  ca = makeCA("E2E Egress Root");
  const leaf = issueServerCert(ca, { cn: "registry.pd.test", sans: ["IP:0.0.0.0"] });
  reg = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "egress-proxy" }));
  target = `0.0.0.0:${reg.port}`;
  certsDir = path.join(home.dir, "certs.d");
  mkdirSync(path.join(certsDir, target), { recursive: true });
  writeFileSync(path.join(certsDir, target, "ca.crt"), ca.cert);
  proxy = await startTinyproxy();
});
afterAll(async () => {
  await Promise.all([reg?.stop(), proxy?.stop()]);
  ca?.cleanup();
  home?.cleanup();
});

type Entry = { host: string; port: number; roles: string[]; via: string; observed: boolean; reached: boolean; addresses: string[] };

test("through HTTPS_PROXY: the registry is via proxy with no local address; the proxy is listed with its role", async () => {
  const daemon = path.join(home.dir, "daemon.json");
  writeFileSync(daemon, JSON.stringify({ proxies: { "https-proxy": proxy.url } }));
  const args = ["check", `${target}/team/app:1.0`, "--json", ...hermetic(home.dir, { certsDir, daemonConfig: daemon, timeout: 5 })];
  const r = await runCli(args, { home: home.dir, env: { HTTPS_PROXY: proxy.url } });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.verdict.ok, r.stdout).toBe(true);
  const egress = report.egress as Entry[];
  const proxyPort = Number(new URL(proxy.url).port);
  expect(egress.find((e) => e.port === reg.port)).toMatchObject({
    host: "0.0.0.0",
    roles: ["registry"],
    via: "proxy",
    reached: true,
    addresses: [],
  });
  expect(egress.find((e) => e.port === proxyPort)).toMatchObject({
    host: "127.0.0.1",
    roles: ["proxy"],
    reached: true,
    addresses: ["127.0.0.1"],
  });

  const dead = `http://127.0.0.1:${await freePort()}`;
  // Judged as classic Docker (its route is the shell's): `auto` would judge as whatever this machine has.
  const egressArgs = ["egress", `${target}/team/app:1.0`, "--client", "docker", "--docker-store", "classic"];
  const e = await runCli([...egressArgs, ...hermetic(home.dir, { certsDir, daemonConfig: daemon, timeout: 3 })], {
    home: home.dir,
    env: { HTTPS_PROXY: dead },
  });
  expect(e.code).toBe(1);
  expect(e.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${new URL(dead).port} +proxy +\\(NOT REACHED from here`, "m"));
});
