import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { execInNs, type NsFiles } from "../helpers/run-in-ns";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * A root installed into the host's store (update-ca-certificates: a corporate CA, a
 * TLS-inspecting proxy's) and in no bundled list. Go reads the host's store, so dockerd,
 * containerd and podman trust it; so must every verified request pulldoctor sends, not only
 * the connect stage's judgement. Each case runs in a private mount namespace whose
 * /etc/ssl/certs/ca-certificates.crt is the machine's bundle with or without that root, and
 * without SSL_CERT_FILE, and compares the doctor with skopeo (containers/image) in the same one.
 */

const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
let corp: CA;
let other: CA;
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let image: string;
let withRoot: NsFiles;
let withoutRoot: NsFiles;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-system-trust-");
  corp = makeCA("Corp Root In The Host Store");
  other = makeCA("Some Other CA");
  const leaf = issueServerCert(corp, { cn: "corp.pd.test", sans: ["DNS:corp.pd.test"] });
  reg = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "system-trust" }));
  image = `corp.pd.test:${reg.port}/team/app:1.0`;
  // The machine's own bundle (Debian's ca-certificates), so the store is a real one plus the root.
  const machine = existsSync(SYSTEM_BUNDLE) ? readFileSync(SYSTEM_BUNDLE, "utf8") : "";
  // 0.0.0.0 is not loopback to Docker's insecure-registry rule: TLS is judged as for a remote registry.
  const hosts = "127.0.0.1 localhost\n0.0.0.0 corp.pd.test\n";
  withRoot = { hosts, caBundle: `${machine}\n${corp.cert}` };
  withoutRoot = { hosts, caBundle: machine };
});
afterAll(async () => {
  await reg?.stop();
  corp?.cleanup();
  other?.cleanup();
  home?.cleanup();
});

const check = (ns: NsFiles, flags: string[] = [], command: "check" | "pull" = "check") =>
  checkCli(image, flags, { home: home.dir, ns, command, timeout: 10 });

function skopeo(ns: NsFiles, certDir?: string) {
  const argv = [requireBinary("skopeo", "skopeo"), "inspect", ...(certDir ? ["--cert-dir", certDir] : []), `docker://${image}`];
  return execInNs(argv, { home: home.dir, dir: home.dir, files: ns });
}

describe("the host's trust store, as Go reads it, for every verified request", () => {
  test("a root only in the host's store: connect verifies, every later request verifies too, exit 0; skopeo agrees", async () => {
    const c = await check(withRoot);
    expect(c.stage("connect").status).toBe("pass");
    expect(c.stage("connect").evidence.hops[0].tls.verified).toBe(true);
    for (const id of ["v2", "auth", "manifest", "blob"]) expect(c.stage(id).status).toBe("pass");
    expect(c.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(c.r.code).toBe(0);
    const s = await skopeo(withRoot);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
  });

  test("certs.d naming another CA for the host adds to the host's store, as Docker's loadTLSConfig does: still verified", async () => {
    const certsDir = path.join(home.dir, "certs.d-other");
    mkdirSync(path.join(certsDir, `corp.pd.test:${reg.port}`), { recursive: true });
    writeFileSync(path.join(certsDir, `corp.pd.test:${reg.port}`, "ca.crt"), other.cert);
    const c = await check(withRoot, ["--certs-dir", certsDir]);
    for (const id of ["connect", "v2", "auth", "manifest", "blob"]) expect(c.stage(id).status).toBe("pass");
    expect(c.r.code).toBe(0);
    const s = await skopeo(withRoot, path.join(certsDir, `corp.pd.test:${reg.port}`));
    expect(s.code).toBe(0);
  });

  test("pull: the blob Workers trust the same store; the OCI layout is written, exit 0", async () => {
    const out = path.join(home.dir, "pulled");
    const c = await check(withRoot, ["--output", `oci:${out}`], "pull");
    expect(c.r.code).toBe(0);
    expect(c.report.pull.ok ?? c.report.verdict.ok).toBe(true);
    expect(existsSync(path.join(out, "index.json"))).toBe(true);
  });

  test("the same root absent from the host's store: TLS_UNKNOWN_CA, and skopeo fails with Go's x509 text", async () => {
    const c = await check(withoutRoot);
    const f = c.find("TLS_UNKNOWN_CA");
    expect(f.severity).toBe("error");
    expect(f.evidence).toMatchObject({ error: "x509: certificate signed by unknown authority" });
    expect(c.r.code).toBe(1);
    const s = await skopeo(withoutRoot);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain("x509: certificate signed by unknown authority");
  });
});
