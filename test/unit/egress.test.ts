import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { formatCsv, formatPlain, unionEgress, unreachableNeeded } from "../../src/egress/allow-list";
import { deriveEgress, type EgressEntry } from "../../src/egress/derive";
import { hostMatches, REGISTRY_TABLE, TABLE_CHECKED, tableEntryFor } from "../../src/egress/table";
import type { TraceEvent } from "../../src/model/trace";

const http = (
  method: string,
  url: string,
  status: number | null,
  responseHeaders: Record<string, string> = {},
  extra: Partial<Extract<TraceEvent, { kind: "http" }>> = {},
): TraceEvent => ({ kind: "http", method, url, status, requestHeaders: {}, responseHeaders, durationMs: 1, ...extra });
const dns = (name: string, answers: string[], rcode = "NOERROR"): TraceEvent => ({
  kind: "dns",
  server: "10.0.0.2:53",
  name,
  type: "A",
  rcode,
  answers,
  durationMs: 1,
});
const byHost = (list: EgressEntry[]) => new Map(list.map((e) => [`${e.host}:${e.port}`, e]));

describe("deriveEgress", () => {
  test("Docker Hub: registry, token realm and the CDN blob host observed; the other documented hosts added, not observed", () => {
    const D = `sha256:${"a".repeat(64)}`;
    const events: TraceEvent[] = [
      dns("registry-1.docker.io.", ["54.1.1.1", "54.1.1.2"]),
      http("GET", "https://registry-1.docker.io/v2/", 401, {
        "www-authenticate": 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      }),
      dns("auth.docker.io", ["3.3.3.3"]),
      http(
        "GET",
        "https://auth.docker.io/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io",
        200,
        {},
        { address: "3.3.3.3" },
      ),
      http("HEAD", "https://registry-1.docker.io/v2/library/alpine/manifests/3", 200, {}, { address: "54.1.1.1" }),
      http("GET", `https://registry-1.docker.io/v2/library/alpine/blobs/${D}`, 307, {
        location: "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/aa/data?verify=REDACTED",
      }),
      dns("production.cloudflare.docker.com", ["104.16.1.1", "cname.example."]),
      http("GET", "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/aa/data?verify=REDACTED", 206),
    ];
    const list = deriveEgress({ events, endpoints: [{ url: "https://registry-1.docker.io", role: "upstream" }], registry: "docker.io" });
    const m = byHost(list);
    expect(m.get("registry-1.docker.io:443")).toMatchObject({
      roles: ["registry"],
      addresses: ["54.1.1.1", "54.1.1.2"],
      via: "direct",
      observed: true,
      reached: true,
      flag: null,
    });
    expect(m.get("registry-1.docker.io:443")!.documented).toEqual({
      registry: "Docker Hub",
      host: "registry-1.docker.io",
      sources: ["https://docs.docker.com/desktop/setup/allow-list/"],
      checked: TABLE_CHECKED,
    });
    expect(m.get("auth.docker.io:443")).toMatchObject({ roles: ["token"], observed: true, reached: true, addresses: ["3.3.3.3"] });
    expect(m.get("production.cloudflare.docker.com:443")).toMatchObject({
      roles: ["blob"],
      reached: true,
      addresses: ["104.16.1.1"],
      flag: null,
    });
    expect(m.get("production.cloudfront.docker.com:443")).toMatchObject({
      roles: ["blob"],
      observed: false,
      reached: false,
      addresses: [],
    });
    expect([...m.keys()]).toContain("docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com:443");
    expect(list).toHaveLength(5);
  });

  test("a private registry redirecting blobs to a host in no table: observed, reached and flagged", () => {
    const events: TraceEvent[] = [
      http("GET", "http://127.0.0.1:5000/v2/", 401, { "www-authenticate": 'Bearer realm="http://127.0.0.1:5001/token",service="lab"' }),
      http("GET", "http://127.0.0.1:5001/token?scope=REDACTED", 200),
      http("GET", "http://127.0.0.1:5000/v2/app/blobs/sha256:1", 302, { location: "http://cdn.localhost:5002/b/1?sig=REDACTED" }),
      http("GET", "http://cdn.localhost:5002/b/1?sig=REDACTED", 302, { location: "http://edge.localhost:5003/b/1" }),
      http("GET", "http://edge.localhost:5003/b/1", 206, {}, { address: "127.0.0.1" }),
    ];
    const m = byHost(
      deriveEgress({ events, endpoints: [{ url: "https://127.0.0.1:5000", role: "upstream" }], registry: "127.0.0.1:5000" }),
    );
    expect(m.get("127.0.0.1:5000")).toMatchObject({
      roles: ["registry"],
      scheme: "http",
      addresses: ["127.0.0.1"],
      reached: true,
      documented: null,
    });
    expect(m.get("127.0.0.1:5001")).toMatchObject({ roles: ["token"], reached: true });
    // A redirect chain from a blob URL: every hop is a blob host.
    for (const k of ["cdn.localhost:5002", "edge.localhost:5003"]) {
      expect(m.get(k)!.roles).toEqual(["blob"]);
      expect(m.get(k)!.flag).toContain("blob host in no table");
    }
    expect(m.size).toBe(4);
  });

  test("a blob host that does not resolve is observed and not reached; unreachableNeeded names it", () => {
    const events: TraceEvent[] = [
      http("GET", "https://reg.example/v2/", 200),
      http("GET", "https://reg.example/v2/app/blobs/sha256:1", 307, { location: "https://blobs.example/x" }),
      dns("blobs.example", [], "NXDOMAIN"),
    ];
    const list = deriveEgress({ events, endpoints: [{ url: "https://reg.example", role: "upstream" }], registry: "reg.example" });
    const blob = byHost(list).get("blobs.example:443")!;
    expect(blob).toMatchObject({ roles: ["blob"], observed: true, reached: false, flag: null });
    expect(unreachableNeeded(list).map((e) => e.host)).toEqual(["blobs.example"]);
  });

  test("through a proxy: hosts are via proxy with no local addresses; the proxy has its role and address", () => {
    const events: TraceEvent[] = [
      http("CONNECT", "ghcr.io:443 via http://proxy.corp:3128", 200),
      http(
        "GET",
        "https://ghcr.io/v2/",
        401,
        { "www-authenticate": 'Bearer realm="https://ghcr.io/token"' },
        { proxy: "proxy.corp:3128", address: "10.1.1.1" },
      ),
      http(
        "GET",
        "https://ghcr.io/v2/o/a/blobs/sha256:1",
        307,
        { location: "https://pkg-containers.githubusercontent.com/x" },
        { proxy: "proxy.corp:3128" },
      ),
      http("GET", "https://pkg-containers.githubusercontent.com/x", 502, {}, { proxy: "proxy.corp:3128" }),
    ];
    const m = byHost(deriveEgress({ events, endpoints: [{ url: "https://ghcr.io", role: "upstream" }], registry: "ghcr.io" }));
    expect(m.get("ghcr.io:443")).toMatchObject({ roles: ["registry", "token"], via: "proxy", addresses: [], reached: true });
    expect(m.get("proxy.corp:3128")).toMatchObject({ roles: ["proxy"], scheme: "http", addresses: ["10.1.1.1"], reached: true });
    // A 502 is the proxy's answer: the CDN itself was not reached.
    expect(m.get("pkg-containers.githubusercontent.com:443")).toMatchObject({ roles: ["blob"], via: "proxy", reached: false });
    // GitHub documents *.githubusercontent.com: the wildcard is listed for the allow-list, not observed.
    expect(m.get("*.githubusercontent.com:443")).toMatchObject({ observed: false, roles: ["blob"], via: "proxy" });
  });

  test("a mirror keeps its role; a failing mirror alone is not a needed host", () => {
    const events: TraceEvent[] = [http("GET", "https://mirror.corp/v2/", null, {}, { error: "connect ECONNREFUSED" })];
    const list = deriveEgress({
      events,
      endpoints: [
        { url: "https://mirror.corp", role: "mirror" },
        { url: "https://registry-1.docker.io", role: "upstream" },
      ],
      registry: "docker.io",
    });
    expect(byHost(list).get("mirror.corp:443")).toMatchObject({ roles: ["mirror"], observed: true, reached: false });
    expect(unreachableNeeded(list).map((e) => e.host)).toEqual(["registry-1.docker.io"]);
  });

  test("ECR hosts are derived from the registry's account and region; MCR's regional data host matches its wildcard", () => {
    const ecr = deriveEgress({ events: [], endpoints: [], registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" });
    expect(ecr.map((e) => [e.host, e.roles])).toEqual([
      ["123456789012.dkr.ecr.eu-west-1.amazonaws.com", ["registry"]],
      ["api.ecr.eu-west-1.amazonaws.com", ["token"]],
      ["prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com", ["blob"]],
    ]);
    const events = [
      http("GET", "https://mcr.microsoft.com/v2/dotnet/blobs/sha256:1", 307, { location: "https://westus.data.mcr.microsoft.com/x" }),
      http("GET", "https://westus.data.mcr.microsoft.com/x", 200),
    ];
    const mcr = byHost(
      deriveEgress({ events, endpoints: [{ url: "https://mcr.microsoft.com", role: "upstream" }], registry: "mcr.microsoft.com" }),
    );
    expect(mcr.get("westus.data.mcr.microsoft.com:443")).toMatchObject({ flag: null, documented: { host: "*.data.mcr.microsoft.com" } });
    expect(mcr.get("*.data.mcr.microsoft.com:443")!.observed).toBe(false);
  });
});

describe("the dated table", () => {
  test("covers the SPEC's registries, each entry with a vendor source", () => {
    for (const r of [
      "docker.io",
      "ghcr.io",
      "quay.io",
      "gcr.io",
      "us-docker.pkg.dev",
      "123456789012.dkr.ecr.us-east-1.amazonaws.com",
      "mcr.microsoft.com",
      "registry.k8s.io",
    ]) {
      expect(tableEntryFor(r), r).not.toBeNull();
    }
    for (const e of REGISTRY_TABLE) for (const s of e.sources) expect(s).toStartWith("https://");
    expect(TABLE_CHECKED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(tableEntryFor("reg.example.com")).toBeNull();
  });

  test("wildcards match one or more name characters, never across the fixed parts", () => {
    expect(hostMatches("*.data.mcr.microsoft.com", "westus.data.mcr.microsoft.com")).toBe(true);
    expect(hostMatches("*.data.mcr.microsoft.com", "data.mcr.microsoft.com")).toBe(false);
    expect(hostMatches("*.data.mcr.microsoft.com", "evil.data.mcr.microsoft.com.example")).toBe(false);
    expect(
      hostMatches(
        "prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com",
        "prod-registry-k8s-io-us-east-2.s3.dualstack.us-east-2.amazonaws.com",
      ),
    ).toBe(true);
  });
});

describe("allow-list", () => {
  const a: EgressEntry = {
    host: "reg.example",
    port: 443,
    scheme: "https",
    roles: ["registry"],
    addresses: ["10.0.0.1"],
    via: "direct",
    observed: true,
    reached: true,
    documented: null,
    flag: null,
  };
  const b: EgressEntry = { ...a, roles: ["token"], addresses: ["10.0.0.2"], reached: false };
  const c: EgressEntry = { ...a, host: "::1", port: 5000, roles: ["blob"], flag: 'blob host in no table, says "x"' };

  test("the union is one line per host:port with every role and address", () => {
    const u = unionEgress([[a], [b, c]]);
    expect(u.map((e) => [e.host, e.roles, e.addresses, e.reached])).toEqual([
      ["reg.example", ["registry", "token"], ["10.0.0.1", "10.0.0.2"], true],
      ["::1", ["blob"], ["10.0.0.1"], true],
    ]);
    expect(formatPlain(u)).toBe("reg.example:443  registry,token\n[::1]:5000       blob  (undocumented blob host)\n");
  });

  test("csv has a header row and quotes what needs it", () => {
    const csv = formatCsv(unionEgress([[c]]));
    const [head, row] = csv.split("\r\n");
    expect(head).toBe("host,port,scheme,roles,via,observed,reached,addresses,documented,source,flag");
    expect(row).toBe('::1,5000,https,blob,direct,true,true,10.0.0.1,,,"blob host in no table, says ""x"""');
  });
});

test("docs/many-images-and-egress.md shows the table's date, every entry's sources and hosts", () => {
  const doc = readFileSync(path.join(import.meta.dir, "../../docs/many-images-and-egress.md"), "utf8");
  expect(doc).toContain(`### The dated table (checked ${TABLE_CHECKED})`);
  const samples: Record<string, string> = { ecr: "123456789012.dkr.ecr.REGION.amazonaws.com", google: "gcr.io" };
  for (const e of REGISTRY_TABLE) {
    for (const s of e.sources) expect(doc, e.id).toContain(s);
    const registry =
      samples[e.id] ??
      ["docker.io", "ghcr.io", "quay.io", "public.ecr.aws", "mcr.microsoft.com", "registry.k8s.io"].find((r) => e.matches(r))!;
    // The docs write ECR's region as REGION.
    for (const h of e.hosts(registry))
      if (!h.host.includes("123456789012")) expect(doc.toLowerCase(), `${e.id} ${h.host}`).toContain(`\`${h.host}\``);
  }
});
