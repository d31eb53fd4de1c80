import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadCertsD } from "../../src/net/certs-d";
import { tempDir } from "../helpers/context";
import { issueClientCert, makeCA } from "../helpers/pki";

const ca = makeCA("CertsD Root");
const client = issueClientCert(ca, "puller");
const cleanups: (() => void)[] = [ca.cleanup];
afterAll(() => {
  for (const c of cleanups) c();
});

function layout(files: Record<string, string>): string {
  const { dir, cleanup } = tempDir("pd-certsd-");
  cleanups.push(cleanup);
  const certsDir = path.join(dir, "certs.d");
  mkdirSync(certsDir);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(certsDir, rel)), { recursive: true });
    writeFileSync(path.join(certsDir, rel), text);
  }
  return certsDir;
}

test("Docker's layout: *.crt CAs and a client.cert/client.key pair", () => {
  const d = layout({ "reg.test:5443/ca.crt": ca.cert, "reg.test:5443/client.cert": client.cert, "reg.test:5443/client.key": client.key });
  const r = loadCertsD(d, "reg.test:5443");
  expect(r.dir).toBe(path.join(d, "reg.test:5443"));
  expect(r.exists).toBe(true);
  expect(r.ca.map((c) => path.basename(c.file))).toEqual(["ca.crt"]);
  expect(r.client?.certFile).toEndWith("client.cert");
  expect(r.client?.key.reveal()).toBe(client.key);
  expect(JSON.stringify(r.client)).not.toContain("PRIVATE KEY");
  expect(r.problems).toEqual([]);
  expect(r.dockerError).toBeNull();
});

test("a CA named .cert without a key: Docker's exact error", () => {
  const d = layout({ "reg.test:5443/ca.cert": ca.cert });
  const r = loadCertsD(d, "reg.test:5443");
  expect(r.dockerError).toBe("missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt");
  expect(r.ca).toEqual([]);
  expect(r.client).toBeNull();
});

test("a key without its certificate", () => {
  const r = loadCertsD(layout({ "reg.test/client.key": client.key }), "reg.test");
  expect(r.dockerError).toBe("missing client certificate client.cert for key client.key");
});

test("near misses: dir without the port, .pem files, cert.d typo, hosts.toml", () => {
  const d = layout({ "reg.test/ca.pem": ca.cert, "reg.test/hosts.toml": "server = 'https://reg.test'" });
  writeFileSync(path.join(d, "..", "placeholder"), "");
  mkdirSync(path.join(d, "..", "cert.d", "reg.test:5443"), { recursive: true });
  const r = loadCertsD(d, "reg.test:5443");
  expect(r.exists).toBe(false);
  expect(r.problems.join("\n")).toContain(`${path.join(d, "reg.test")} exists but is ignored: the dir has no port`);
  expect(r.problems.join("\n")).toContain(`${path.join(d, "..", "cert.d")} is not read by Docker`);
  const noPort = loadCertsD(d, "reg.test");
  expect(noPort.exists).toBe(true);
  expect(noPort.problems.join("\n")).toContain("ca.pem is ignored by Docker");
  expect(noPort.problems.join("\n")).toContain("hosts.toml");
  expect(noPort.problems.join("\n")).toContain("holds no *.crt");
});

test("a reference without a port next to a dir with one", () => {
  const r = loadCertsD(layout({ "reg.test:443/ca.crt": ca.cert }), "reg.test");
  expect(r.exists).toBe(false);
  expect(r.problems[0]).toContain("the image reference has no port");
});

test("a missing certs dir is simply absent", () => {
  const r = loadCertsD("/nonexistent/certs.d", "reg.test");
  expect(r).toMatchObject({ exists: false, ca: [], client: null, problems: [] });
});
