import { describe, expect, test } from "bun:test";
import { planEndpoints } from "../../src/doctor/plan";
import type { ImageRef, LocalConfig } from "../../src/model/facts";
import { addressIsInsecure, inCidr, isInsecureByConfig } from "../../src/registry/insecure";
import { parseMirror } from "../../src/registry/mirror-url";
import { testOptions } from "../helpers/context";

const hub: ImageRef = {
  input: "nginx",
  registry: "docker.io",
  repository: "library/nginx",
  tag: "latest",
  digest: null,
  canonical: "docker.io/library/nginx:latest",
  familiar: "nginx:latest",
};
const priv: ImageRef = {
  ...hub,
  registry: "reg.example.com:5000",
  repository: "team/app",
  canonical: "reg.example.com:5000/team/app:latest",
  familiar: "reg.example.com:5000/team/app:latest",
};
const local = (mirrors: string[], insecure: string[] = []): LocalConfig => ({
  dockerConfig: { path: "", found: false, kind: "none" },
  daemon: {
    path: "/etc/docker/daemon.json",
    found: true,
    mirrors,
    insecureRegistries: insecure,
    proxies: null,
    liveProxies: null,
    liveSource: null,
  },
  certsDir: "/etc/docker/certs.d",
});

describe("planEndpoints (as Docker tries them)", () => {
  test("docker.io: daemon mirrors, then --mirror, then registry-1.docker.io", () => {
    const p = planEndpoints(hub, local(["https://m1.example.com/"]), testOptions({ mirrors: ["http://m2.example.com:5000"] }));
    expect(p.endpoints.map((e) => [e.url, e.role, e.insecure])).toEqual([
      ["https://m1.example.com", "mirror", false],
      ["http://m2.example.com:5000", "mirror", true],
      ["https://registry-1.docker.io", "upstream", false],
    ]);
  });
  test("mirrors never apply to other registries", () => {
    const p = planEndpoints(priv, local(["https://m1.example.com"]), testOptions());
    expect(p.endpoints.map((e) => e.url)).toEqual(["https://reg.example.com:5000"]);
  });
  test("a mirror without a scheme is rejected with Docker's words", () => {
    const p = planEndpoints(hub, local(["mirror.example.com"]), testOptions());
    expect(p.rejectedMirrors[0]!.reason).toContain("no scheme specified");
    expect(parseMirror("https://u:p@m.example.com")).toHaveProperty("reason");
    expect(parseMirror("https://m.example.com/?x=1")).toHaveProperty("reason");
    expect(parseMirror("https://m.example.com/v2/")).toHaveProperty("url");
  });
  test("insecure-registries: exact host[:port], CIDR for IP literals, loopback always", () => {
    expect(planEndpoints(priv, local([], ["reg.example.com:5000"]), testOptions()).endpoints[0]!.insecure).toBe(true);
    expect(planEndpoints(priv, local([]), testOptions({ insecureRegistries: ["reg.example.com:5000"] })).endpoints[0]!.insecure).toBe(true);
    expect(planEndpoints(priv, local([], ["reg.example.com"]), testOptions()).endpoints[0]!.insecure).toBe(false);
    expect(isInsecureByConfig("10.1.2.3:5000", "10.1.2.3", ["10.0.0.0/8"])).toBe(true);
    expect(isInsecureByConfig("127.0.0.1:5000", "127.0.0.1", [])).toBe(true);
    expect(isInsecureByConfig("[::1]:5000", "::1", [])).toBe(true);
    expect(addressIsInsecure("127.8.9.1", [])).toBe(true);
    expect(addressIsInsecure("192.168.1.9", ["192.168.0.0/16"])).toBe(true);
    expect(addressIsInsecure("192.169.1.9", ["192.168.0.0/16"])).toBe(false);
    expect(inCidr("2001:db8::5", "2001:db8::/32")).toBe(true);
    expect(inCidr("2001:db9::5", "2001:db8::/32")).toBe(false);
    expect(inCidr("::ffff:10.0.0.1", "::ffff:10.0.0.0/104")).toBe(true);
  });
});
