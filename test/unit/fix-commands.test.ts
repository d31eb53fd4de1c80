import { expect, test } from "bun:test";
import { catalogueEntry } from "../../src/model/catalogue";

// Fixes are commands a user pastes: no "…" or "<…>" placeholders where the doctor knows the
// values. These entries had such placeholders (found using the binary as a user would).
test("PULL_INTERRUPTED: the way to see what cuts the transfer is a command for this image", () => {
  const fixes = catalogueEntry("PULL_INTERRUPTED").fixes({
    image: "127.0.0.1:5000/team/app:1.0",
    digest: `sha256:${"a".repeat(64)}`,
    host: "127.0.0.1:5000",
    attempts: 3,
    error: "unexpected EOF",
    received: 10,
    size: 100,
    storeDir: "/tmp/store",
    aborted: false,
  });
  expect(fixes[1]).toBe(
    "Check what cuts the transfer: pulldoctor check 127.0.0.1:5000/team/app:1.0 --verbose shows each request to 127.0.0.1:5000, its status, and where it stops",
  );
  for (const f of fixes) expect(f).not.toMatch(/\/v2\/…|<[a-z ]+>/i);
});

test("BLOB_SLOW without an image falls back to a generic command, with one an exact one", () => {
  const base = { host: "r:5000", bytes: 600_000, seconds: 2, bytesPerSecond: 300_000, imageBytes: 1_000_000 };
  expect(catalogueEntry("BLOB_SLOW").fixes({ ...base, image: "r:5000/a:1", plainHttp: false })[0]).toBe(
    "Measure a whole pull outside Docker: time skopeo copy docker://r:5000/a:1 oci:/tmp/pd-speed (or: pulldoctor pull r:5000/a:1 --output oci:/tmp/pd-speed)",
  );
  expect(catalogueEntry("BLOB_SLOW").fixes(base)[0]).not.toContain("<");
});

test("PROXY_UNREACHABLE: the curl check uses the scheme the variable carries", () => {
  const base = {
    proxy: "http://127.0.0.1:9",
    address: "127.0.0.1:9",
    host: "registry.example.com:5000",
    failure: "refused" as const,
    message: "connect: connection refused",
    timeoutMs: 1000,
  };
  const https = catalogueEntry("PROXY_UNREACHABLE").fixes({ ...base, variable: "HTTPS_PROXY" });
  const http = catalogueEntry("PROXY_UNREACHABLE").fixes({ ...base, variable: "http_proxy" });
  expect(https).toContain("Check the proxy: curl -v -x http://127.0.0.1:9 https://registry.example.com:5000/v2/");
  expect(http).toContain("Check the proxy: curl -v -x http://127.0.0.1:9 http://registry.example.com:5000/v2/");
});
