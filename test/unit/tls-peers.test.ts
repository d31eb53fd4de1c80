import { afterAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { issueClientCert, issueServerCert, makeCA, selfSigned } from "../helpers/pki";
import { startNginx } from "../peers/nginx";
import { freePort } from "../peers/require";

const ca = makeCA("Peers Test Root");
afterAll(() => ca.cleanup());

test("pki: expired, not-yet-valid, SANs, client certificates", () => {
  const expired = issueServerCert(ca, {
    cn: "old.test",
    sans: ["DNS:old.test", "IP:127.0.0.1"],
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2021-01-01T00:00:00Z"),
  });
  const x = new X509Certificate(expired.cert);
  expect(new Date(x.validTo).toISOString()).toBe("2021-01-01T00:00:00.000Z");
  expect(x.subjectAltName).toBe("DNS:old.test, IP Address:127.0.0.1");
  expect(x.checkIssued(new X509Certificate(ca.cert))).toBe(true);
  const future = issueServerCert(ca, {
    cn: "new.test",
    sans: ["DNS:new.test"],
    notBefore: new Date(Date.now() + 86400_000 * 30),
    notAfter: new Date(Date.now() + 86400_000 * 60),
  });
  expect(new Date(new X509Certificate(future.cert).validFrom).getTime()).toBeGreaterThan(Date.now());
  expect(new X509Certificate(issueClientCert(ca, "client-1").cert).subject).toBe("CN=client-1");
  const ss = selfSigned({ cn: "self.test", sans: ["IP:127.0.0.1"] });
  const sx = new X509Certificate(ss.cert);
  expect(sx.subject).toBe(sx.issuer);
  ss.cleanup();
});

test("nginx serves TLS with a generated certificate", async () => {
  const leaf = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test", "IP:127.0.0.1"] });
  const port = await freePort();
  const ng = await startNginx({
    httpBlock: `server { listen 127.0.0.1:${port} ssl; ssl_certificate ${leaf.certFile}; ssl_certificate_key ${leaf.keyFile}; location / { return 200 "ok\\n"; } }`,
  });
  try {
    const subject = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername: "registry.test", ca: [ca.cert] }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(subject).toBe("registry.test");
  } finally {
    await ng.stop();
  }
});
