import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, type KeyPair, makeCA, makeIntermediate, selfSigned } from "../helpers/pki";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RunOpts, runConnect as run } from "./connect-helpers";

/**
 * Every connect code against a real server on loopback. Docker treats 127.0.0.0/8 and ::1
 * as insecure (TLS problems become warnings there), so the "secure" cases reach the same
 * local servers through 0.0.0.0: Linux delivers a connect to 0.0.0.0 over loopback, and
 * Docker's rule does not count 0.0.0.0 as loopback, exactly as dockerd would judge it.
 */
let ca: CA;
let ng: NginxPeer;
let certsDir: string;
const ports: Record<string, number> = {};
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  ca = makeCA("Connect Test Root");
  cleanups.push(ca.cleanup);
  const inter = makeIntermediate(ca, "Connect Test Intermediate");
  const sans = ["DNS:registry.test", "IP:127.0.0.1", "IP:0.0.0.0"];
  const certs: Record<string, KeyPair> = {
    good: issueServerCert(ca, { cn: "registry.test", sans }),
    expired: issueServerCert(ca, {
      cn: "registry.test",
      sans,
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2020-01-02T00:00:00Z"),
    }),
    future: issueServerCert(ca, {
      cn: "registry.test",
      sans,
      notBefore: new Date(Date.now() + 30 * 86400_000),
      notAfter: new Date(Date.now() + 60 * 86400_000),
    }),
    dnsOnly: issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test", "DNS:www.registry.test"] }),
    leafOnly: issueServerCert(inter, { cn: "registry.test", sans }),
    leafAia: issueServerCert(inter, { cn: "registry.test", sans, caIssuersUrl: "http://pki.example.test/intermediate.der" }),
  };
  const ss = selfSigned({ cn: "registry.test", sans });
  cleanups.push(ss.cleanup);
  certs.self = ss;
  let block = "";
  const pool = await freePorts(Object.keys(certs).length + 2);
  for (const [name, c] of Object.entries(certs)) {
    ports[name] = pool.pop()!;
    block += `server { listen 127.0.0.1:${ports[name]} ssl; ssl_certificate ${c.certFile}; ssl_certificate_key ${c.keyFile}; return 200 "ok"; }\n`;
  }
  ports.plain = pool.pop()!;
  block += `server { listen 127.0.0.1:${ports.plain}; return 200 "plain"; }\n`;
  ports.v6 = pool.pop()!;
  block += `server { listen [::1]:${ports.v6} ssl; ssl_certificate ${certs.good!.certFile}; ssl_certificate_key ${certs.good!.keyFile}; return 200 "ok"; }\n`;
  ng = await startNginx({ httpBlock: block });
  const t = tempDir("pd-connect-certsd-");
  cleanups.push(t.cleanup);
  certsDir = path.join(t.dir, "certs.d");
  // The CA where Docker looks for registry.test:PORT, for every port above.
  for (const name of Object.keys(ports)) {
    for (const host of [`registry.test:${ports[name]}`, `0.0.0.0:${ports[name]}`, `other.test:${ports[name]}`]) {
      mkdirSync(path.join(certsDir, host), { recursive: true });
      writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
    }
  }
});
afterAll(async () => {
  await ng?.stop();
  for (const c of cleanups.reverse()) await c();
});

const runConnect = (o: RunOpts) => run({ certsDir, ...o });

test("a good certificate, CA from certs.d: pass, link over verified https with the CA", async () => {
  const r = await runConnect({ port: ports.good! });
  expect(r.codes).toEqual([]);
  expect(r.provides?.link).toMatchObject({
    scheme: "https",
    baseUrl: `https://registry.test:${ports.good}`,
    insecure: false,
    tls: { verify: true },
  });
  expect(r.provides?.link?.tls.ca).toEqual([ca.cert]);
  const hop = (r.evidence.hops as any[])[0];
  expect(hop.target).toBe(`0.0.0.0:${ports.good}`);
  expect(hop.connect.ok).toBe(true);
  expect(hop.tls.chain[0].subject).toBe("CN=registry.test");
  expect((r.evidence.certsD as any).caFiles[0]).toEndWith(`registry.test:${ports.good}/ca.crt`);
  expect(r.trace).toContainEqual({
    kind: "note",
    text: expect.stringMatching(
      new RegExp(`^connect 0\\.0\\.0\\.0:${ports.good}: .* ms; TLS TLSv1\\.[23] .*CN=registry\\.test.*; verified$`),
    ),
  });
});

test("TLS_UNKNOWN_CA: error with the exact certs.d path and the missing issuer", async () => {
  const r = await runConnect({ port: ports.good!, certsDir: "/nonexistent/certs.d" });
  expect(r.codes).toEqual(["TLS_UNKNOWN_CA"]);
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain(`0.0.0.0:${ports.good} presented "CN=registry.test" issued by "CN=Connect Test Root,O=pulldoctor tests"`);
  expect(f.fixes[0]).toContain(
    `sudo mkdir -p /nonexistent/certs.d/registry.test:${ports.good} && sudo cp ca.crt /nonexistent/certs.d/registry.test:${ports.good}/ca.crt`,
  );
  expect(f.evidence).toMatchObject({
    target: `0.0.0.0:${ports.good}`,
    subject: "CN=registry.test",
    issuer: "CN=Connect Test Root,O=pulldoctor tests",
    missingIssuer: "CN=Connect Test Root,O=pulldoctor tests",
    error: "x509: certificate signed by unknown authority",
  });
  expect(r.provides).toBeUndefined();
});

test("TLS_UNKNOWN_CA: a self-signed certificate names the untrusted root", async () => {
  const r = await runConnect({ port: ports.self! });
  expect(r.f("TLS_UNKNOWN_CA").detail).toContain('self-signed root "CN=registry.test"');
});

test("TLS_UNKNOWN_CA: a missing intermediate is named, with the full-chain fix", async () => {
  const r = await runConnect({ port: ports.leafOnly! });
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.detail).toContain(
    '"CN=Connect Test Intermediate" was neither sent by the server nor found in the trusted CAs (1 certificate(s) sent)',
  );
  expect(f.fixes.join("\n")).toContain("the server must send it");
});

test("on loopback the same problem is a warning: Docker proceeds, containerd/kubelet fail", async () => {
  const r = await runConnect({ hostname: "127.0.0.1", addresses: ["127.0.0.1"], port: ports.good!, certsDir: "/nonexistent/certs.d" });
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.severity).toBe("warning");
  expect(f.detail).toContain("Docker (and containerd, which treats loopback registries the same way) proceeds anyway; podman/skopeo");
  expect(r.provides?.link).toMatchObject({ scheme: "https", insecure: true, tls: { verify: false } });
  expect((r.evidence.insecure as any).why).toContain("loopback");
});

test("TLS_EXPIRED: expired, with the window and the local clock", async () => {
  const r = await runConnect({ port: ports.expired! });
  expect(r.codes).toEqual(["TLS_EXPIRED"]);
  const f = r.f("TLS_EXPIRED");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain('"CN=registry.test" (0.0.0.0:');
  expect(f.detail).toContain("2020-01-02T00:00:00.000Z");
  expect(f.evidence).toMatchObject({
    target: `0.0.0.0:${ports.expired}`,
    certificate: "CN=registry.test",
    notAfter: "2020-01-02T00:00:00.000Z",
    state: "expired",
  });
  expect(String(f.evidence.error)).toMatch(
    /^x509: certificate has expired or is not yet valid: current time \S+Z is after 2020-01-02T00:00:00Z$/,
  );
  expect(f.evidence.localClock).toBeString();
  expect(f.fixes[0]).toContain("Renew the certificate");
  expect(f.detail).toContain("The server's clock (HTTP Date) says");
  expect(f.detail).toContain("the server's clock agrees: the certificate itself is outside its window");
  expect(f.evidence.serverClock).toBeString();
});

test("TLS_EXPIRED: not yet valid points at the clock", async () => {
  const r = await runConnect({ port: ports.future! });
  const f = r.f("TLS_EXPIRED");
  expect(f.detail).toContain("not yet valid");
  expect(f.fixes[0]).toContain("timedatectl set-ntp true");
});

test("TLS_HOSTNAME_MISMATCH: lists the names the certificate covers", async () => {
  const r = await runConnect({ hostname: "other.test", port: ports.good! });
  expect(r.codes).toEqual(["TLS_HOSTNAME_MISMATCH"]);
  const f = r.f("TLS_HOSTNAME_MISMATCH");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain("x509: certificate is valid for registry.test, not other.test");
  expect(f.detail).toContain("DNS:registry.test, IP:127.0.0.1, IP:0.0.0.0");
  expect(f.fixes[0]).toContain(`registry.test:${ports.good}/REPOSITORY`);
  expect(f.evidence).toMatchObject({
    target: `0.0.0.0:${ports.good}`,
    requested: "other.test",
    sans: ["DNS:registry.test", "IP:127.0.0.1", "IP:0.0.0.0"],
  });
});

test("TLS_HOSTNAME_MISMATCH: an IP without IP SANs", async () => {
  const r = await runConnect({ hostname: "0.0.0.0", addresses: ["0.0.0.0"], port: ports.dnsOnly! });
  const f = r.f("TLS_HOSTNAME_MISMATCH");
  expect(f.detail).toContain("x509: cannot validate certificate for 0.0.0.0 because it doesn't contain any IP SANs");
  expect(f.severity).toBe("error");
});

test("TLS_HTTP_ONLY: a plain HTTP registry, with the insecure-registries snippet", async () => {
  const r = await runConnect({ port: ports.plain! });
  expect(r.codes).toEqual(["TLS_HTTP_ONLY"]);
  const f = r.f("TLS_HTTP_ONLY");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain('answered the TLS ClientHello with "HTTP/1.1 400 Bad Request"');
  expect(f.fixes[0]).toContain(`{ "insecure-registries": ["registry.test:${ports.plain}"] }`);
  expect(r.provides).toBeUndefined();
});

test("an insecure registry (daemon.json) answering plain HTTP: Docker falls back to http", async () => {
  const r = await runConnect({ port: ports.plain!, daemonInsecure: [`registry.test:${ports.plain}`] });
  expect(r.f("TLS_HTTP_ONLY").severity).toBe("warning");
  expect(r.f("TLS_HTTP_ONLY").detail).toContain("containerd/kubelet, podman and other clients use HTTPS and fail");
  expect(r.f("TLS_HTTP_ONLY").fixes[0]).toBe("Docker already treats it as insecure and uses plain HTTP: nothing to change for Docker.");
  expect(r.provides?.link).toMatchObject({ scheme: "http", baseUrl: `http://registry.test:${ports.plain}`, insecure: true });
});

test("loopback plain HTTP: link over http (Docker's default for 127.0.0.1)", async () => {
  const r = await runConnect({ hostname: "127.0.0.1", addresses: ["127.0.0.1"], port: ports.plain! });
  expect(r.provides?.link?.scheme).toBe("http");
  expect(r.f("TLS_HTTP_ONLY").severity).toBe("warning");
  expect(r.f("TLS_HTTP_ONLY").detail).toContain("(containerd does the same for loopback)");
  expect(r.f("TLS_HTTP_ONLY").fixes[1]).toStartWith("containerd/kubelet also fall back to plain HTTP for a loopback registry");
  // The same registry also named with --insecure-registry: containerd's behaviour does not change, nor the words.
  const flagged = await runConnect({
    hostname: "127.0.0.1",
    addresses: ["127.0.0.1"],
    port: ports.plain!,
    daemonInsecure: [`127.0.0.1:${ports.plain}`],
  });
  expect(flagged.f("TLS_HTTP_ONLY").detail).toBe(r.f("TLS_HTTP_ONLY").detail);
  expect(flagged.f("TLS_HTTP_ONLY").fixes).toEqual(r.f("TLS_HTTP_ONLY").fixes);
});

test("TLS_INSECURE_IN_USE: configured insecure with good TLS is a warning; loopback-only is info", async () => {
  const a = await runConnect({ port: ports.good!, daemonInsecure: ["0.0.0.0/32"] });
  expect(a.codes).toEqual(["TLS_INSECURE_IN_USE"]);
  expect(a.f("TLS_INSECURE_IN_USE")).toMatchObject({ severity: "warning" });
  expect(a.f("TLS_INSECURE_IN_USE").detail).toContain("insecure-registries CIDR (0.0.0.0/32)");
  // Emitted only when TLS had no problem: there are no "certificate problems reported" to fix.
  expect(a.f("TLS_INSECURE_IN_USE").fixes).toEqual([
    `The certificate verifies, so the insecure setting is not needed: remove registry.test:${ports.good} from insecure-registries and sudo systemctl restart docker.`,
  ]);
  const b = await runConnect({ port: ports.good!, insecure: true, certsDir: "/nonexistent/certs.d" });
  expect(b.codes).toContain("TLS_UNKNOWN_CA");
  const c = await runConnect({ hostname: "127.0.0.1", addresses: ["127.0.0.1"], port: ports.plain!, scheme: "http" });
  expect(c.f("TLS_INSECURE_IN_USE")).toMatchObject({ severity: "info" });
  // registry.test resolving to 127.0.0.1 with its CA in certs.d: insecure only by Docker's loopback
  // default and the certificate verifies, so there is nothing to fix (it used to ask to "fix the
  // certificate problems reported" when none were).
  const d = await runConnect({ addresses: ["127.0.0.1"], port: ports.good!, certsDir });
  expect(d.codes).toEqual(["TLS_INSECURE_IN_USE"]);
  expect(d.f("TLS_INSECURE_IN_USE").fixes).toEqual([
    "Nothing to change: the certificate verifies, and Docker always treats loopback addresses as insecure.",
  ]);
  expect(c.f("TLS_INSECURE_IN_USE").fixes[0]).toBe(
    `Serve 127.0.0.1:${ports.plain} over TLS with a certificate for its name (Docker will still skip verification for a loopback address).`,
  );
  expect(c.provides?.link?.scheme).toBe("http");
});

test("an http:// endpoint (a mirror URL) is TCP only, and plain HTTP is said", async () => {
  const r = await runConnect({ port: ports.plain!, scheme: "http" });
  expect((r.evidence.hops as any[])[0].tls).toBeNull();
  expect(r.provides?.link).toMatchObject({ scheme: "http", baseUrl: `http://registry.test:${ports.plain}`, insecure: true });
  expect(r.f("TLS_INSECURE_IN_USE")).toMatchObject({ severity: "warning" });
  expect(r.f("TLS_INSECURE_IN_USE").detail).toContain(
    `(its URL is http://registry.test:${ports.plain} (plain HTTP)); the pull uses plain HTTP`,
  );
});

test("TLS_UNKNOWN_CA names a CA put in the dir without the port", async () => {
  const { dir, cleanup } = tempDir("pd-connect-nearmiss-");
  cleanups.push(cleanup);
  mkdirSync(path.join(dir, "registry.test"));
  writeFileSync(path.join(dir, "registry.test", "ca.crt"), ca.cert);
  const r = await runConnect({ port: ports.good!, certsDir: dir });
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.detail).toContain(
    `certs.d: ${path.join(dir, "registry.test")} exists but is ignored: the dir has no port; Docker reads ${path.join(dir, `registry.test:${ports.good}`)}`,
  );
  expect(f.fixes[0]).toContain(`sudo mkdir -p ${dir}/registry.test:${ports.good}`);
});

test("IPv6: the hop is [::1]:PORT, TLS verified, loopback noted as info", async () => {
  const r = await runConnect({ addresses: ["::1"], port: ports.v6! });
  const hop = (r.evidence.hops as any[])[0];
  expect(hop.target).toBe(`[::1]:${ports.v6}`);
  expect(hop.tls.verified).toBe(true);
  expect(r.codes).toEqual(["TLS_INSECURE_IN_USE"]);
  expect(r.f("TLS_INSECURE_IN_USE").severity).toBe("info");
  expect(r.f("TLS_INSECURE_IN_USE").detail).toContain("::1 is a loopback address");
});

test("Docker Hub: no certs.d, an unknown issuer points at the system store (TLS inspection)", async () => {
  // registry-1.docker.io "resolved" to this host's nginx: what a re-signing middlebox looks like.
  const r = await runConnect({ hostname: "registry-1.docker.io", port: ports.good! });
  expect(r.codes).toEqual(["TLS_HOSTNAME_MISMATCH", "TLS_UNKNOWN_CA"]);
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.detail).toContain("Docker verifies Docker Hub against the system store only (no certs.d)");
  expect(f.fixes[0]).toContain("update-ca-certificates && sudo systemctl restart docker");
  expect(r.evidence.certsD).toMatchObject({ dir: null });
});

test("TLS_UNKNOWN_CA: an AIA CA Issuers URL marks the missing issuer as an intermediate to send", async () => {
  const r = await runConnect({ port: ports.leafAia! });
  const f = r.f("TLS_UNKNOWN_CA");
  expect(f.detail).toContain(
    "the certificate says its issuer is published at http://pki.example.test/intermediate.der, so it is an intermediate the server should send",
  );
  expect(f.fixes[0]).toStartWith('If "CN=Connect Test Intermediate" is an intermediate CA, the server must send it');
  expect(f.evidence.issuerUrl).toBe("http://pki.example.test/intermediate.der");
});

test("TLS_EXPIRED from a wrong local clock: the server's Date header shows the skew", async () => {
  const r = await runConnect({ port: ports.good!, now: new Date(Date.now() + 400 * 86400_000) });
  expect(r.codes).toEqual(["TLS_EXPIRED"]);
  const f = r.f("TLS_EXPIRED");
  expect(f.detail).toMatch(/valid by the server's clock, so this host's clock is wrong \(off by 400 days\)/);
  expect(f.fixes[0]).toStartWith("This host's clock is off by 400 days compared with the server");
  expect(f.evidence).toMatchObject({ target: `0.0.0.0:${ports.good}`, state: "expired" });
});
