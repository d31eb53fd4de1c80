import { afterAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { Anchor, AnchorSet, rawNames, uniqueEntries } from "../../src/net/trust-store";
import { tempDir } from "../helpers/context";
import { issueServerCert, makeCA, makeIntermediate } from "../helpers/pki";

/** The trust store's index: candidate issuers by raw name, as Go's CertPool finds them. */

const ca = makeCA("Store Root");
const mid = makeIntermediate(ca, "Store Mid");
const leaf = issueServerCert(mid, { cn: "registry.test", sans: ["DNS:registry.test"] });
const other = makeCA("Other Root");
afterAll(() => {
  ca.cleanup();
  other.cleanup();
});
const der = (pem: string) => new X509Certificate(pem).raw;

test("raw names: a certificate's issuer is, byte for byte, its issuer's subject; a root's are its own", () => {
  expect(rawNames(der(leaf.cert))?.issuer).toBe(rawNames(der(mid.cert))?.subject);
  expect(rawNames(der(mid.cert))?.issuer).toBe(rawNames(der(ca.cert))?.subject);
  const root = rawNames(der(ca.cert));
  expect(root?.issuer).toBe(root?.subject);
  expect(rawNames(der(other.cert))?.subject).not.toBe(root?.subject);
});

test("raw names: anything that is not a certificate's DER is undefined, never a throw", () => {
  expect(rawNames(new Uint8Array())).toBeUndefined();
  const good = der(leaf.cert);
  for (let cut = 0; cut < good.length; cut += 7) expect(() => rawNames(good.subarray(0, cut))).not.toThrow();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(() => rawNames(b)).not.toThrow();
    }),
    { numRuns: 2000 },
  );
});

test("anchors: found by DER, and as the candidate issuers of a certificate; parsed only when asked", () => {
  const set = new AnchorSet();
  for (const c of [ca, other]) set.add(new Anchor(der(c.cert), false));
  set.add(new Anchor(der(ca.cert), true)); // the same certificate again: one anchor
  expect(set.all.length).toBe(2);
  expect(set.exact(der(ca.cert))?.fromExtra).toBe(false);
  expect(set.exact(der(mid.cert))).toBeUndefined();
  const candidates = set.issuersOf(der(mid.cert));
  expect(candidates.map((a) => a.x509()?.subject)).toEqual([new X509Certificate(ca.cert).subject]);
  expect(set.issuersOf(der(leaf.cert))).toEqual([]);
  expect(new Anchor(Buffer.from("not a certificate"), false).x509()).toBeNull();
});

test("a certificate directory is read as Go reads it: symlinks to the same directory are skipped", () => {
  const { dir, cleanup } = tempDir("pd-store-");
  try {
    const certs = path.join(dir, "certs");
    const elsewhere = path.join(dir, "share");
    mkdirSync(certs);
    mkdirSync(elsewhere);
    writeFileSync(path.join(certs, "plain.pem"), ca.cert);
    writeFileSync(path.join(elsewhere, "linked.crt"), other.cert);
    symlinkSync(path.join(elsewhere, "linked.crt"), path.join(certs, "linked.pem"));
    symlinkSync("plain.pem", path.join(certs, "a1b2c3d4.0"));
    expect(uniqueEntries(certs)?.sort()).toEqual(["linked.pem", "plain.pem"]);
    expect(uniqueEntries(path.join(dir, "absent"))).toBeNull();
  } finally {
    cleanup();
  }
});

test("a served certificate that is not a CA cannot be an intermediate, as Go refuses it (NotAuthorizedToSign)", async () => {
  const { judgeTrust } = await import("../../src/net/x509-info");
  // An "intermediate" with keyCertSign but CA:FALSE, signed by the trusted root, and a leaf it signed.
  const notCa = makeIntermediate(ca, "notca", ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,keyCertSign,digitalSignature"]);
  const signed = issueServerCert(notCa, { cn: "registry.test", sans: ["DNS:registry.test"] });
  const r = judgeTrust([new X509Certificate(signed.cert), new X509Certificate(notCa.cert)], [ca.cert]);
  expect(r.trusted).toBe(false);
  expect(r.missingIssuer).toBe("CN=notca");
  // The same shape with a real intermediate is trusted.
  expect(judgeTrust([new X509Certificate(leaf.cert), new X509Certificate(mid.cert)], [ca.cert]).trusted).toBe(true);
});
