import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseContainerdConfig } from "../../../src/clients/containerd-config";
import { hostDirCandidates, lookupHosts, parseHostsToml } from "../../../src/clients/hosts-toml";
import { explainMatch, keyringKey, lookup } from "../../../src/clients/kube-keyring";
import { candidateScopes } from "../../../src/clients/policy-json";
import { parsePullSecret } from "../../../src/clients/pull-secret";
import { findRegistry, mergeFile, type RegistriesConf, readRegistriesConf } from "../../../src/clients/registries-conf";
import { tempDir } from "../../helpers/context";

const t = tempDir("pd-clients-");
afterAll(t.cleanup);

describe("hosts.toml (containerd core/remotes/docker/config/hosts.go)", () => {
  test("lookup order: <host>_<port>_, <host:port>, _default", () => {
    expect(hostDirCandidates("/r", "reg.example:5000")).toEqual(["/r/reg.example_5000_", "/r/reg.example:5000", "/r/_default"]);
    expect(hostDirCandidates("/r", "docker.io")).toEqual(["/r/docker.io", "/r/_default"]);
  });

  test.each([
    // [text, expected error substring or null, expected hosts (url+path) when valid]
    [
      'server = "https://up.example"\n[host."https://m2.example"]\n  capabilities = ["pull"]\n[host."https://m1.example/sub"]\n',
      null,
      ["https://m2.example/v2", "https://m1.example/sub/v2", "https://up.example/v2"],
    ],
    ['[host."http://m.example:5000"]\n  skip_verify = true\n', null, ["https://m.example:5000/v2", "https://registry-1.docker.io/v2"]],
    ['server = "https://x"\n[host."https://m"]\ncapabilities = ["pull", "fetch"]\n', "unknown capability fetch", null],
    ['[host."https://m"]\nskip_verify = "true"\n', "skip_verify must be true or false", null],
    ["server = = 1\n", "line", null],
    ['[host."https://m"]\nca = {path = "x"}\n', 'invalid type for "ca"', null],
  ])("%p", (text, err, urls) => {
    const dir = path.join(t.dir, `h${Math.random().toString(36).slice(2)}`, "docker.io");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "hosts.toml"), text as string);
    const look = lookupHosts([path.dirname(dir)], "docker.io");
    if (err === null) {
      expect(look.problem).toBeNull();
      expect(look.hosts.map((h) => `${h.url}${h.path}`)).toEqual(urls as string[]);
    } else {
      expect(look.problem).not.toBeNull();
      expect(look.problem!.line).toBeGreaterThan(0);
      if (err !== "line") expect(look.problem!.message).toContain(err as string);
      // containerd keeps only the ref host when the file does not decode.
      expect(look.hosts.map((h) => h.url)).toEqual(["https://registry-1.docker.io"]);
    }
  });

  test("a plain-HTTP mirror with TLS settings tries https first; capabilities and relative ca paths", () => {
    const r = parseHostsToml("/etc/c/reg/hosts.toml", '[host."http://m:5000"]\ncapabilities = ["pull"]\nca = "ca.pem"\n');
    if ("problem" in r) throw new Error(r.problem.message);
    expect(r.hosts[0]).toMatchObject({ scheme: "http", host: "m:5000", capabilities: ["pull"], ca: ["/etc/c/reg/ca.pem"] });
  });

  test("localhost with a port and no hosts.toml: http with skip_verify, so https first then http", () => {
    const look = lookupHosts([path.join(t.dir, "none")], "127.0.0.1:5000");
    expect(look.hosts).toHaveLength(1);
    expect(look.hosts[0]).toMatchObject({ url: "https://127.0.0.1:5000", httpFallback: true });
  });
});

describe("containerd config.toml config_path", () => {
  test.each([
    [
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      2,
      ["/etc/containerd/certs.d"],
      null,
    ],
    ['[plugins.cri.registry]\nconfig_path = "/a:/b"\n', 1, ["/a", "/b"], null],
    ['version = 3\n[plugins."io.containerd.cri.v1.images".registry]\nconfig_path = "/a:/b"\n', 3, ["/a", "/b"], true],
    ["version = 3\n", 3, ["/etc/containerd/certs.d", "/etc/docker/certs.d"], true],
    [
      'version = 3\n[plugins."io.containerd.cri.v1.images"]\nuse_local_image_pull = true\n',
      3,
      ["/etc/containerd/certs.d", "/etc/docker/certs.d"],
      false,
    ],
  ])("%p", (text, version, roots, transfer) => {
    const c = parseContainerdConfig("/c.toml", text as string);
    expect(c.problem).toBeNull();
    expect(c.version).toBe(version as number);
    expect(c.roots).toEqual(roots as string[]);
    expect(c.transferMode).toBe(transfer as boolean | null);
  });
  test("a syntax error has its line", () => {
    expect(parseContainerdConfig("/c.toml", "version = 2\n[plugins\n").problem?.line).toBe(2);
  });
});

describe("registries.conf (containers/image sysregistriesv2)", () => {
  const empty = (): RegistriesConf => ({
    files: [],
    registries: [],
    search: [],
    searchSource: null,
    shortNameMode: "permissive",
    aliases: {},
    aliasSources: {},
    credentialHelpers: null,
    credentialHelpersSource: null,
    problems: [],
  });
  test.each([
    ['[registries.search]\nregistries = ["docker.io"]\n', false, "v1 format"],
    [
      'unqualified-search-registries = ["docker.io"]\n[registries.search]\nregistries = ["quay.io"]\n',
      true,
      "mixing sysregistry v1/v2 is not supported",
    ],
    [
      '[[registry]]\nlocation = "r.example"\ninsecure = true\n[[registry]]\nprefix = "r.example/x"\nlocation = "r.example"\n',
      true,
      "conflicting 'insecure' setting",
    ],
    ['[[registry]]\nlocation = "https://r.example"\n', true, "URI schemes are not supported"],
    ["[[registry]\n", true, ""],
  ])("%p", (text, fatal, msg) => {
    const c = empty();
    mergeFile(c, "/r.conf", text as string, false);
    // conflicts are found after merging (postProcess), so run the public reader's last step via a second file-less merge
    const all = c.problems.length > 0 ? c.problems : conflicts(c);
    expect(all.length).toBeGreaterThan(0);
    expect(all[0]!.fatal).toBe(fatal as boolean);
    expect(all[0]!.message).toContain(msg as string);
    expect(all[0]!.line).toBeGreaterThan(0);
  });
  test("longest prefix wins; prefix boundary is / : @", () => {
    const c = empty();
    mergeFile(
      c,
      "/r.conf",
      '[[registry]]\nlocation = "r.example"\n[[registry]]\nprefix = "r.example/team"\nlocation = "m.example/team"\nblocked = true\n',
      false,
    );
    expect(findRegistry(c, "r.example/team/app")?.blocked).toBe(true);
    expect(findRegistry(c, "r.example/team2/app")?.blocked).toBe(false);
    expect(findRegistry(c, "other.example/x")).toBeNull();
  });
});

function conflicts(c: RegistriesConf) {
  // readRegistriesConf runs postProcess; exercise it through a file on disk.
  const f = path.join(t.dir, `r${Math.random().toString(36).slice(2)}.conf`);
  const regs = c.registries
    .map((r) => `[[registry]]\nprefix = "${r.prefix}"\nlocation = "${r.location}"\ninsecure = ${r.insecure}\n`)
    .join("");
  writeFileSync(f, regs);
  return readRegistriesConf(f, null).problems;
}

describe("pull secrets (kubelet secrets.go / config.go)", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const cfg = JSON.stringify({ auths: { "reg.example:5000": { auth: b64("u:p") } } });
  test.each([
    [
      `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${b64(cfg)}\n`,
      null,
      ["reg.example:5000"],
    ],
    [cfg, null, ["reg.example:5000"]],
    [`apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n  x: eA==\n`, "kubelet reads only kubernetes.io/dockerconfigjson", []],
    [
      `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: "%%%not base64"\n`,
      "not valid base64",
      [],
    ],
    ["kind: Secret\n  type: : [\n", "not YAML or JSON", []],
    [JSON.stringify({ auths: {} }), 'empty "auths"', []],
    [JSON.stringify({ auths: { r: { auth: "bm9jb2xvbg==" } } }), "not base64 of user:password", []],
  ])("%p", (text, err, keys) => {
    const s = parsePullSecret("/s.yaml", text as string);
    expect(s.entries.map((e) => e.key)).toEqual(keys as string[]);
    if (err === null) expect(s.problems).toEqual([]);
    else {
      expect(s.problems[0]!.message).toContain(err as string);
      expect(s.problems[0]!.line).toBeGreaterThan(0);
    }
  });
  test("identitytoken, credsStore and credHelpers are listed as ignored", () => {
    const s = parsePullSecret("/c.json", JSON.stringify({ credsStore: "desktop", auths: { r: { auth: b64("u:p"), identitytoken: "t" } } }));
    expect(s.unsupported).toEqual(["credsStore", "auths[r].identitytoken"]);
  });
});

describe("kubelet keyring matching (keyring.go#URLsMatch)", () => {
  test.each([
    ["reg.example.com", "reg.example.com/team/app", true],
    ["*.example.com", "reg.example.com/app", true],
    ["*.example.com", "example.com/app", false],
    ["*.example.com", "a.b.example.com/app", false],
    ["reg.example.com", "reg.example.com:5000/app", false],
    ["reg.example.com:5000", "reg.example.com:5000/app", true],
    ["reg.example.com/team", "reg.example.com/team2/app", true],
    ["reg.example.com/other", "reg.example.com/team/app", false],
  ])("%s vs %s → %p", (key, repo, ok) => {
    expect(explainMatch(keyringKey(key as string), repo as string).matches).toBe(ok as boolean);
  });
  test("Docker Hub falls back to the index.docker.io key; registry-1.docker.io never matches", () => {
    expect(keyringKey("https://index.docker.io/v1/")).toBe("index.docker.io");
    const r = lookup(
      [
        { key: "https://index.docker.io/v1/", file: "a" },
        { key: "registry-1.docker.io", file: "b" },
      ],
      "docker.io/library/nginx",
    );
    expect(r.viaDefault).toBe(true);
    expect(r.chosen.map((c) => c.file)).toEqual(["a"]);
    const none = lookup([{ key: "registry-1.docker.io", file: "b" }], "docker.io/library/nginx");
    expect(none.chosen).toEqual([]);
    expect(none.matches[0]!.why).toContain("3 host labels");
  });
});

test("policy.json scopes, most specific first (policyconfiguration/naming.go)", () => {
  expect(candidateScopes("reg.example.com/team/app", "1.0", null)).toEqual([
    "reg.example.com/team/app:1.0",
    "reg.example.com/team/app",
    "reg.example.com/team",
    "reg.example.com",
    "*.example.com",
    "*.com",
    "",
  ]);
});
