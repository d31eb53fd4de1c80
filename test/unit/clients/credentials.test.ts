import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keyringCredentials } from "../../../src/clients/keyring-credentials";
import { providerFlags } from "../../../src/clients/kubelet";
import { parsePullSecret } from "../../../src/clients/pull-secret";
import { authFilePaths, authKeysForKey, containersAuth, findInAuthText, normalizeAuthFileKey } from "../../../src/host/auth-json";
import { parseProviderConfig } from "../../../src/host/credential-provider";
import { DEFAULT_CLIENT_PATHS } from "../../../src/model/deps";
import { Secret } from "../../../src/model/secret";
import { endpointGetsCredentials } from "../../../src/net/origin";
import { tempDir } from "../../helpers/context";

const t = tempDir("pd-creds-");
afterAll(t.cleanup);
const b64 = (s: string) => Buffer.from(s).toString("base64");

function script(name: string, body: string): string {
  const p = path.join(t.dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe("containers/image auth files (pkg/docker/config/config.go)", () => {
  test("search order: REGISTRY_AUTH_FILE or the runtime file, then XDG config, Docker's config.json, ~/.dockercfg", () => {
    expect(authFilePaths({ REGISTRY_AUTH_FILE: "/a.json", XDG_RUNTIME_DIR: "/run/user/1" }, "/home/u", 1).map((f) => f.path)).toEqual([
      "/a.json",
      "/home/u/.config/containers/auth.json",
      "/home/u/.docker/config.json",
      "/home/u/.dockercfg",
    ]);
    expect(authFilePaths({ XDG_RUNTIME_DIR: "/run/user/1" }, "/home/u", 1).map((f) => f.path)).toEqual([
      "/run/user/1/containers/auth.json",
      "/home/u/.config/containers/auth.json",
      "/home/u/.docker/config.json",
      "/home/u/.dockercfg",
    ]);
    const root = authFilePaths({ XDG_CONFIG_HOME: "/x", DOCKER_CONFIG: "/d" }, "/root", 0);
    expect(root.map((f) => f.path)).toEqual([
      "/run/containers/0/auth.json",
      "/x/containers/auth.json",
      "/d/config.json",
      "/root/.dockercfg",
    ]);
    expect(root[3]!.legacy).toBe(true);
  });

  test("keys: the most specific first; URL keys reduced to their host; Docker Hub's names are one", () => {
    expect(authKeysForKey("reg.example/ns/team/app")).toEqual([
      "reg.example/ns/team/app",
      "reg.example/ns/team",
      "reg.example/ns",
      "reg.example",
    ]);
    expect(normalizeAuthFileKey("https://index.docker.io/v1/", false)).toBe("index.docker.io");
    expect(normalizeAuthFileKey("docker.io", false)).toBe("index.docker.io");
    expect(normalizeAuthFileKey("reg.example/team", false)).toBe("reg.example/team");
  });

  const file = { path: "/f/auth.json", legacy: false };
  test.each([
    [
      "a repository key wins over the registry key",
      { "r.example": "u:reg", "r.example/team/app": "u:repo" },
      "r.example/team/app",
      "u:repo",
    ],
    ["a namespace key wins over the registry key", { "r.example": "u:reg", "r.example/team": "u:ns" }, "r.example/team/app", "u:ns"],
    ["another repository's key does not match", { "r.example/other": "u:o" }, "r.example/team/app", null],
    ["a key that is only a string prefix does not match", { "r.example/te": "u:x" }, "r.example/team/app", null],
    ["Docker Hub from the https://index.docker.io/v1/ key", { "https://index.docker.io/v1/": "u:hub" }, "docker.io/library/x", "u:hub"],
    ["a URL key with a port", { "http://r.example:5000": "u:p" }, "r.example:5000/app", "u:p"],
  ])("%s", (_name, auths, repo, want) => {
    const text = JSON.stringify({ auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: b64(v) }])) });
    const a = findInAuthText(text, file, repo, repo.split("/")[0]!);
    if (want === null) expect(a.kind).toBe("none");
    else {
      expect(a.kind).toBe("entry");
      if (a.kind === "entry") expect(`${a.username}:${a.password}`).toBe(want);
    }
  });

  test("username/password fields are not read (only auth); credHelpers[registry] comes first", () => {
    const fields = findInAuthText(JSON.stringify({ auths: { r: { username: "u", password: "p" } } }), file, "r/app", "r");
    expect(fields).toMatchObject({ kind: "entry", username: "", password: "" });
    const helper = findInAuthText(JSON.stringify({ auths: { r: { auth: b64("u:p") } }, credHelpers: { r: "x" } }), file, "r/app", "r");
    expect(helper).toEqual({ kind: "helper", helper: "x", registry: "r" });
  });

  test("the first file with credentials wins; an empty entry is passed over; a helper answers for its file", async () => {
    const dir = path.join(t.dir, "search");
    mkdirSync(dir);
    const f1 = path.join(dir, "runtime.json");
    const f2 = path.join(dir, "config.json");
    const f3 = path.join(dir, "docker.json");
    writeFileSync(f1, JSON.stringify({ auths: { "r.example": { auth: "" } } }));
    writeFileSync(f2, JSON.stringify({ credHelpers: { "r.example": "pdtest" } }));
    writeFileSync(f3, JSON.stringify({ auths: { "r.example": { auth: b64("late:x") } } }));
    script("docker-credential-pdtest", `read url\nprintf '{"ServerURL":"%s","Username":"helperuser","Secret":"helper-secret-1"}' "$url"`);
    const files = [f1, f2, f3].map((p) => ({ path: p, legacy: false }));
    const a = await containersAuth(files, "r.example/team/app", "r.example", { env: { PATH: t.dir }, timeoutMs: 5000 });
    expect(a.found).toMatchObject({ file: f2, username: "helperuser", password: "helper-secret-1", helper: "pdtest" });
    expect(a.looked.map((l) => l.result)).toEqual([
      "auths[r.example] holds no usable credentials",
      "credHelpers[r.example] → docker-credential-pdtest",
    ]);
  });

  // getCredentialsWithHomeDir returns the first file's error (authPath.parse): measured with skopeo 1.9
  // in test/e2e/client-credentials.test.ts.
  test("a file that does not parse, or a directory, stops the search; a missing file or `null` is passed over", async () => {
    const dir = path.join(t.dir, "stop");
    mkdirSync(path.join(dir, "adir"), { recursive: true });
    const good = path.join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ auths: { "r.example": { auth: b64("u:p") } } }));
    const put = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    const search = (first: string) =>
      containersAuth(
        [first, good].map((p) => ({ path: p, legacy: false })),
        "r.example/app",
        "r.example",
        { env: {}, timeoutMs: 5000 },
      );
    for (const first of [put("broken.json", "{ no"), put("empty.json", ""), put("array.json", "[]"), path.join(dir, "adir")]) {
      const a = await search(first);
      expect(a.found).toBeNull();
      expect(a.problems).toEqual([{ file: first, message: expect.stringContaining(`reading JSON file "${first}"`), searchStopped: true }]);
      expect(a.looked.map((l) => l.file)).toEqual([first]);
    }
    const b = await search(put("nob64.json", JSON.stringify({ auths: { "r.example": { auth: "@@@" } } })));
    expect(b.found).toBeNull();
    expect(b.problems[0]?.message).toContain("is not base64");
    for (const first of [path.join(dir, "missing.json"), put("null.json", "null")])
      expect((await search(first)).found).toMatchObject({ file: good, username: "u" });
  });
});

describe("kubelet's keyring in order, with credential-provider plugins (pkg/credentialprovider)", () => {
  const secret = (key: string, user: string, pw: string) =>
    parsePullSecret(`/s/${user}`, JSON.stringify({ auths: { [key]: { auth: b64(`${user}:${pw}`) } } })).entries;
  const providerConfig = (name: string, matchImages: string[], apiVersion = "credentialprovider.kubelet.k8s.io/v1") => {
    const p = path.join(t.dir, `${name}.yaml`);
    writeFileSync(
      p,
      `apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: ${name}\n    matchImages: [${matchImages.map((m) => JSON.stringify(m)).join(", ")}]\n    defaultCacheDuration: 1m\n    apiVersion: ${apiVersion}\n    args: [get-credentials]\n    env: [{name: PD_EXTRA, value: from-config}]\n`,
    );
    return p;
  };
  const env = { PATH: "/usr/bin:/bin" };

  test("pull secrets first (most specific key first), then config.json and the plugin's answer together", async () => {
    const config = providerConfig("pd-plugin-ok", ["*.example:5000"]);
    // The plugin echoes what it was given into its answer's username, so the test sees the request and its env.
    script(
      "pd-plugin-ok",
      `read req\nimg=$(echo "$req" | sed 's/.*"image":"\\([^"]*\\)".*/\\1/')\nprintf '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","auth":{"r.example:5000":{"username":"plugin-%s-%s-%s","password":"plugin-pw-1"}}}' "$1" "$PD_EXTRA" "$img"`,
    );
    const k = await keyringCredentials(
      {
        kind: "keyring",
        secrets: [
          ...secret("r.example:5000", "podA", "a"),
          ...secret("r.example:5000/team", "podB", "b"),
          ...secret("other.example", "podC", "c"),
        ],
        node: [{ key: "r.example:5000", file: "/var/lib/kubelet/config.json", username: "node", password: new Secret("n") }],
        providers: { config, binDir: t.dir },
      },
      "r.example:5000/team/app",
      { env, timeoutMs: 5000 },
    );
    expect(k.findings).toEqual([]);
    expect(k.ordered.map((e) => e.username)).toEqual([
      "podB",
      "podA",
      "node",
      "plugin-get-credentials-from-config-r.example:5000/team/app",
    ]);
    expect(JSON.stringify(k.evidence)).not.toContain("plugin-pw-1");
  });

  test("a plugin whose matchImages do not match is not run", async () => {
    const config = providerConfig("pd-plugin-never", ["*.elsewhere.example"]);
    const k = await keyringCredentials({ kind: "keyring", secrets: [], node: [], providers: { config, binDir: t.dir } }, "r.example/app", {
      env,
      timeoutMs: 5000,
    });
    expect(k.findings).toEqual([]);
    expect((k.evidence as { plugins: unknown[] }).plugins).toEqual([]);
  });

  test.each([
    ["missing", null, "no such file"],
    ["fails", "echo 'cloud login expired'\nexit 3", "exit status 3, out: `cloud login expired`"],
    [
      "wrong-version",
      `printf '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","cacheKeyType":"Image"}'`,
      "did not match",
    ],
    ["no-cache-key", `printf '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}'`, "cacheKeyType"],
    ["hangs", "sleep 30 &\nsleep 30", "timed out after 500 ms"],
  ])("plugin %s: CREDS_PROVIDER_FAILED, and the pull goes on without it", async (name, body, says) => {
    const config = providerConfig(`pd-plugin-${name}`, ["r.example"]);
    if (body !== null) script(`pd-plugin-${name}`, `cat >/dev/null\n${body}`);
    const started = Date.now();
    const k = await keyringCredentials(
      { kind: "keyring", secrets: secret("r.example", "pod", "p"), node: [], providers: { config, binDir: t.dir } },
      "r.example/app",
      {
        env,
        timeoutMs: 500,
      },
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(k.findings.map((f) => f.code)).toEqual(["CREDS_PROVIDER_FAILED"]);
    expect(k.findings[0]!.severity).toBe("warning");
    expect(k.findings[0]!.detail.toLowerCase()).toContain(says.toLowerCase());
    expect(k.ordered.map((e) => e.username)).toEqual(["pod"]);
  });

  test.each([
    ["kind: Other\n", "not CredentialProviderConfig"],
    ["kind: CredentialProviderConfig\nproviders: []\n", "at least 1"],
    [
      "kind: CredentialProviderConfig\nproviders:\n  - name: x\n    matchImages: [a]\n    defaultCacheDuration: 1m\n    apiVersion: v9\n",
      "apiVersion",
    ],
    [
      "kind: CredentialProviderConfig\nproviders:\n  - name: ../x\n    matchImages: [a]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
      "file name",
    ],
  ])("an invalid provider config: %p", (text, says) => {
    const c = parseProviderConfig("/c.yaml", text);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.message).toContain(says);
  });
});

describe("kubelet's provider flags and config", () => {
  test("read from <root-dir>/kubeadm-flags.env; the environment overrides them", () => {
    const dir = path.join(t.dir, "kubelet-root");
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, "kubeadm-flags.env"),
      'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --image-credential-provider-config=/etc/k/cp.yaml --image-credential-provider-bin-dir=/opt/cp/bin"\n',
    );
    const paths = { ...DEFAULT_CLIENT_PATHS, kubeletDir: dir };
    expect(providerFlags({ env: {}, paths })).toEqual({ config: "/etc/k/cp.yaml", binDir: "/opt/cp/bin" });
    expect(providerFlags({ env: { PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_CONFIG: "/x.yaml" }, paths })).toEqual({
      config: "/x.yaml",
      binDir: "/opt/cp/bin",
    });
    expect(providerFlags({ env: {}, paths: { ...paths, kubeletDir: path.join(t.dir, "none") } })).toBeNull();
  });

  test("a provider config kubelet would refuse to start with: CLIENT_CONFIG_INVALID, no plugin run", async () => {
    const config = path.join(t.dir, "bad-providers.yaml");
    writeFileSync(config, "kind: CredentialProviderConfig\nproviders:\n  - name: p\n    matchImages: [r.example]\n");
    const k = await keyringCredentials({ kind: "keyring", secrets: [], node: [], providers: { config, binDir: t.dir } }, "r.example/app", {
      env: {},
      timeoutMs: 1000,
    });
    expect(k.findings.map((f) => f.code)).toEqual(["CLIENT_CONFIG_INVALID"]);
    expect(k.findings[0]!.detail).toContain("defaultCacheDuration is required");
  });
});

describe("where credentials may go (src/net/origin.ts)", () => {
  test.each([
    ["login-host", "mirror.example", "mirror", "docker.io", false],
    ["login-host", "registry-1.docker.io", "upstream", "docker.io", true],
    ["login-host", "r.example:5000", "upstream", "r.example:5000", true],
    ["every-host", "mirror.example", "mirror", "docker.io", true],
    ["registry", "mirror.example", "mirror", "docker.io", true],
  ] as const)("%s: %s (%s) for %s → %p", (reach, host, role, registry, want) => {
    expect(endpointGetsCredentials(reach, { host, role }, registry)).toBe(want);
  });
});
