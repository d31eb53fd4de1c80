import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import type { Report } from "../../src/model/report";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { runInNs } from "../helpers/run-in-ns";
import { expectValidReport } from "../helpers/schema";
import { startRecorder } from "../peers/recorder";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { startTokenServer, type TokenServer } from "../peers/token-server";

/**
 * Issue 7, "Secrets": every scenario that involves a credential, run through the compiled
 * binary, healthy and failing (failure paths are where secrets leak into messages). Each
 * scenario runs twice — `--json --verbose --report` and the human `--verbose --report` — and
 * every byte of stdout, stderr and both report files is searched for every secret in every
 * form it travels in: plain, base64 of user:password (Basic header, config.json "auth"),
 * URL-encoded (proxy URL, OAuth form), the refresh token, and any JWT (the bearer tokens the
 * token server issued). Peers: docker-registry (htpasswd and token mode, TLS), the test token
 * server (TLS), tinyproxy with BasicAuth.
 */

// Each secret carries characters that change under base64/URL-encoding, so each form differs.
const S = {
  alice: "sE-alice/Pw+1=ok", // config.json auths "auth" (basic registry)
  aliceFields: "sE-fields&Pw?2", // config.json username/password fields
  helper: "sE-helper%Secret#3", // credHelpers
  store: "sE-store Secret@4", // credsStore
  stdin: "sE-stdin:Secret!5", // --password-stdin
  wrong: "sE-wrong/Guess+6", // rejected passwords
  token: "sE-tokenUser~Pw7", // the token server's user
  refresh: "sE-refresh.Identity/Tok+8", // config.json identitytoken
  badRefresh: "sE-refresh.Revoked/Tok+9",
  helperFail: "sE-helperFail:Leak10", // printed by a helper that then fails
  proxy: "sE-proxy.Pass_11", // in HTTPS_PROXY (tinyproxy accepts only [-._A-Za-z0-9] there)
  proxyWrong: "sE-proxyWrong@Pa/ss:12",
  envAuth: "sE-envAuth/Pw+13", // DOCKER_AUTH_CONFIG
  daemonProxy: "sE-daemonProxy@Pw:14", // daemon.json "proxies" (compared with the shell's)
  echo: "sE-echo/Pw+15", // sent to hostile peers that echo credentials back
  proxyEcho: "sE-proxyEcho@16",
  registryToken: "sE-registryToken/Tok+18", // config.json registrytoken (sent as the bearer itself)
  mirror: "sE-mirror-Pw.17", // userinfo in daemon.json registry-mirrors / --mirror (both refused, as dockerd does)
  authJson: "sE-authJson/Pw+19", // podman's auth.json (REGISTRY_AUTH_FILE)
  pullSecret: "sE-pullSecret/Pw+20", // a kubelet pull secret (Secret YAML, base64 data)
  plugin: "sE-plugin/Pw+21", // a kubelet credential-provider plugin's answer
  pluginFail: "sE-pluginFail:Leak22", // printed by a plugin that then fails
};
const USERS = {
  alice: S.alice,
  fields: S.aliceFields,
  hbob: S.helper,
  scarol: S.store,
  dave: S.stdin,
  podu: S.authJson,
  kubeu: S.pullSecret,
  plugu: S.plugin,
};

/** Every form a secret travels in. */
function forms(): string[] {
  const out = new Set<string>();
  const users: Record<string, string> = {
    ...USERS,
    alice2: S.wrong,
    tuser: S.token,
    proxyuser: S.proxy,
    proxybad: S.proxyWrong,
    hfail: S.helperFail,
    envuser: S.envAuth,
    dproxy: S.daemonProxy,
    echo: S.echo,
    pecho: S.proxyEcho,
    muser: S.mirror,
    plugfail: S.pluginFail,
  };
  for (const v of Object.values(S)) {
    out.add(v);
    out.add(encodeURIComponent(v));
    out.add(new URLSearchParams({ x: v }).toString().slice(2)); // form encoding: space as +
    out.add(btoa(v));
  }
  for (const [u, p] of Object.entries(users))
    for (const user of [u, "alice", "tuser", "proxyuser", "hbob", "scarol", "dave", "fields", "echo", "pecho", "podu", "kubeu", "plugu"])
      out.add(btoa(`${user}:${p}`));
  return [...out];
}
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;
const BEARER_VALUE = /Bearer\s+(?!<redacted>|realm)[A-Za-z0-9._~+/-]{8,}/;
const BASIC_VALUE = /Basic\s+(?!<redacted>|realm)[A-Za-z0-9+/]{12,}={0,2}/;

let ca: CA;
let basicReg: RegistryPeer, tokenReg: RegistryPeer;
let ts: TokenServer;
let proxy: TinyproxyPeer;
let home: { dir: string; cleanup: () => void };
let certsDir: string, bin: string;
let n = 0;
let leafCert: { cert: string; key: string };
const stops: (() => void)[] = [];

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-secrets-");
  ca = makeCA("pulldoctor secrets CA");
  const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1", "IP:0.0.0.0", "DNS:localhost"] });
  ts = await startTokenServer({
    users: { tuser: S.token },
    refreshTokens: { [S.refresh]: "tuser" },
    grants: { tuser: { "team/app": ["pull"] } },
    refuseAnonymous: true,
    tls: { cert: leaf.cert, key: leaf.key },
  });
  const tls = { certificate: leaf.certFile, key: leaf.keyFile };
  leafCert = { cert: leaf.cert, key: leaf.key };
  [basicReg, tokenReg, proxy] = await Promise.all([
    startRegistry({ htpasswd: USERS, tls }),
    startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle }, tls }),
    startTinyproxy({ basicAuth: { user: "proxyuser", password: S.proxy } }),
  ]);
  const img = buildImage({ label: "secrets-e2e" });
  await pushImage(basicReg.url, "team/app", "1.0", img, { authorization: `Basic ${btoa(`alice:${S.alice}`)}` });
  await pushImage(tokenReg.url, "team/app", "1.0", img, {
    authorization: `Bearer ${ts.issue("tuser", [{ type: "repository", name: "team/app", actions: ["pull", "push"] }])}`,
  });
  certsDir = path.join(home.dir, "certs.d");
  for (const host of [basicReg.host, tokenReg.host, `0.0.0.0:${basicReg.port}`]) {
    mkdirSync(path.join(certsDir, host), { recursive: true });
    writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
  }
  bin = path.join(home.dir, "bin");
  mkdirSync(bin);
  const helper = (name: string, body: string) => {
    const p = path.join(bin, `docker-credential-${name}`);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
  };
  helper("sehelper", `read url\nprintf '{"ServerURL":"%s","Username":"hbob","Secret":"%s"}' "$url" '${S.helper}'`);
  helper("sestore", `read url\nprintf '{"ServerURL":"%s","Username":"scarol","Secret":"%s"}' "$url" '${S.store}'`);
  // Fails after printing a credential and echoing its input to stderr, as broken helpers do.
  helper(
    "sefail",
    `read url\necho "helper got: $url" >&2\nprintf '{"ServerURL":"%s","Username":"hfail","Secret":"%s"}' "$url" '${S.helperFail}'\nexit 1`,
  );
  // Fails with its own words on stdout (what Docker quotes as out: `…`) and its input on stderr.
  helper("sefailtext", `read url\necho "cannot reach the keyring for $url" >&2\necho "keyring locked: $url"\nexit 3`);
}, 30_000);
afterAll(async () => {
  await Promise.all([basicReg?.stop(), tokenReg?.stop(), ts?.stop(), proxy?.stop()]);
  for (const stop of stops) stop();
  ca?.cleanup();
  home?.cleanup();
});

function dockerConfig(config: unknown): string {
  const dir = path.join(home.dir, `docker-${++n}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

interface Scenario {
  image: string;
  config?: unknown;
  args?: string[];
  env?: Record<string, string>;
  stdin?: string;
  daemonConfig?: string;
}

/** No secret in any form, no JWT, no bearer or basic value, in any of the texts. */
function expectClean(label: string, texts: Record<string, string>): void {
  const secrets = forms();
  for (const [where, text] of Object.entries(texts)) {
    const leaked = secrets.filter((s) => text.includes(s));
    expect({ where: `${label}: ${where}`, leaked }).toEqual({ where: `${label}: ${where}`, leaked: [] });
    expect({
      where: `${label}: ${where}`,
      jwt: JWT.exec(text)?.[0] ?? null,
      bearer: BEARER_VALUE.exec(text)?.[0] ?? null,
      basic: BASIC_VALUE.exec(text)?.[0] ?? null,
    }).toEqual({ where: `${label}: ${where}`, jwt: null, bearer: null, basic: null });
  }
}

/** Run a scenario as JSON and as human output, both --verbose with --report; check every text. */
async function run(label: string, cmd: "check" | "pull", s: Scenario) {
  const cfg = s.config !== undefined ? ["--docker-config", dockerConfig(s.config)] : ["--docker-config", path.join(home.dir, "no-docker")];
  const common = [
    "--daemon-config",
    s.daemonConfig ?? path.join(home.dir, "none.json"),
    "--certs-dir",
    certsDir,
    "--timeout",
    "5",
    ...cfg,
    // Docker's credential sources unless a scenario names its client (`auto` would read this machine's /etc/containerd).
    ...(s.args?.includes("--client") ? [] : ["--client", "docker"]),
    ...(s.args ?? []),
  ];
  const env = { PATH: `${bin}:${process.env.PATH}`, PULLDOCTOR_STORE: path.join(home.dir, `store-${++n}`), ...s.env };
  const out = (k: string) => (cmd === "pull" ? ["--output", `oci:${path.join(home.dir, `out-${++n}-${k}`)}:1.0`] : []);
  const repJ = path.join(home.dir, `report-${++n}.json`);
  const repH = path.join(home.dir, `report-${++n}.json`);
  const j = await runCli([cmd, s.image, "--json", "--verbose", "--report", repJ, ...out("j"), ...common], {
    home: home.dir,
    env,
    stdin: s.stdin,
  });
  const h = await runCli([cmd, s.image, "--verbose", "--report", repH, ...out("h"), ...common], { home: home.dir, env, stdin: s.stdin });
  let report: Report;
  try {
    report = JSON.parse(j.stdout);
  } catch {
    throw new Error(`${label}: stdout is not JSON (exit ${j.code}):\n${j.stdout}\n${j.stderr}`);
  }
  expectValidReport(report);
  const texts = {
    "json stdout": j.stdout,
    "json stderr": j.stderr,
    "json --report": readFileSync(repJ, "utf8"),
    "human stdout": h.stdout,
    "human stderr": h.stderr,
    "human --report": readFileSync(repH, "utf8"),
  };
  expectClean(label, texts);
  // The human run printed the exchanges (so the search above had something to search).
  expect(h.stdout + h.stderr).toContain(s.image.split("/")[0]!);
  if (!s.env?.HTTPS_PROXY || j.code === 0) expect(h.stdout + h.stderr).toContain("/v2/");
  expect(h.code).toBe(j.code);
  return {
    report,
    code: j.code,
    codes: (report.findings as { code: string; severity: string }[]).map((f) => `${f.code}:${f.severity}`),
    human: h.stdout + h.stderr,
  };
}

const basicImage = () => `${basicReg.host}/team/app:1.0`;
const tokenImage = () => `${tokenReg.host}/team/app:1.0`;
const errors = (codes: string[]) => codes.filter((c) => c.endsWith(":error"));

describe("secrets never appear: healthy scenarios", () => {
  test("config.json auths with base64 'auth' (Basic registry): check and pull", async () => {
    const config = { auths: { [basicReg.host]: { auth: btoa(`alice:${S.alice}`) } } };
    const c = await run("auths auth", "check", { image: basicImage(), config });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
    const p = await run("auths auth pull", "pull", { image: basicImage(), config });
    expect([p.code, p.report.pull?.layers]).toEqual([0, expect.any(Number)]);
    expect(p.human).toMatch(/sha256:[0-9a-f]{12}/); // per-layer progress lines were printed
  }, 60_000);

  test("config.json auths with username/password fields", async () => {
    const c = await run("auths fields", "check", {
      image: basicImage(),
      config: { auths: { [basicReg.host]: { username: "fields", password: S.aliceFields } } },
    });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
  }, 60_000);

  test("credHelpers and credsStore helpers (real executables)", async () => {
    const h = await run("credHelpers", "check", { image: basicImage(), config: { credHelpers: { [basicReg.host]: "sehelper" } } });
    expect([h.code, errors(h.codes)]).toEqual([0, []]);
    const s = await run("credsStore", "check", { image: basicImage(), config: { credsStore: "sestore" } });
    expect([s.code, errors(s.codes)]).toEqual([0, []]);
  }, 60_000);

  test("DOCKER_AUTH_CONFIG (the environment's auths)", async () => {
    const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [basicReg.host]: { auth: btoa(`fields:${S.aliceFields}`) } } }) };
    const c = await run("DOCKER_AUTH_CONFIG", "check", { image: basicImage(), env });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
    const w = await run("DOCKER_AUTH_CONFIG wrong", "check", {
      image: basicImage(),
      env: { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [basicReg.host]: { auth: btoa(`envuser:${S.envAuth}`) } } }) },
    });
    expect(w.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
  }, 60_000);

  test("--username --password-stdin", async () => {
    const c = await run("stdin", "check", { image: basicImage(), args: ["--username", "dave", "--password-stdin"], stdin: `${S.stdin}\n` });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
  }, 60_000);

  test("bearer tokens from a real token server (Basic to the realm): check and pull", async () => {
    const config = { auths: { [tokenReg.host]: { auth: btoa(`tuser:${S.token}`) } } };
    ts.requests.length = 0;
    const c = await run("token basic", "check", { image: tokenImage(), config });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
    expect(ts.requests.some((r) => r.basicUser === "tuser")).toBe(true);
    const p = await run("token pull", "pull", { image: tokenImage(), config });
    expect(p.code).toBe(0);
  }, 60_000);

  test("identity token: OAuth POST grant_type=refresh_token to the realm", async () => {
    ts.requests.length = 0;
    const c = await run("identitytoken", "check", {
      image: tokenImage(),
      config: { auths: { [tokenReg.host]: { identitytoken: S.refresh } } },
    });
    expect([c.code, errors(c.codes)]).toEqual([0, []]);
    expect(ts.requests.find((r) => r.method === "POST")?.form).toMatchObject({ grant_type: "refresh_token", refresh_token: S.refresh });
  }, 60_000);

  test("proxy credentials in HTTPS_PROXY (tinyproxy BasicAuth) with registry credentials: check and pull", async () => {
    const env = { HTTPS_PROXY: `http://proxyuser:${encodeURIComponent(S.proxy)}@127.0.0.1:${proxy.port}` };
    const target = `0.0.0.0:${basicReg.port}`;
    const config = { auths: { [target]: { auth: btoa(`alice:${S.alice}`) } } };
    const c = await run("proxy", "check", { image: `${target}/team/app:1.0`, config, env });
    expect(c.codes).toContain("PROXY_IN_USE:info");
    expect(errors(c.codes)).toEqual([]);
    expect(proxy.logs()).toContain(target);
    const p = await run("proxy pull", "pull", { image: `${target}/team/app:1.0`, config, env });
    expect(p.code).toBe(0);
    // The daemon's proxy (with its own credentials) differs from the shell's: both are named, no password.
    const daemonConfig = path.join(home.dir, "daemon-proxy.json");
    writeFileSync(
      daemonConfig,
      JSON.stringify({ proxies: { "https-proxy": `http://dproxy:${encodeURIComponent(S.daemonProxy)}@127.0.0.1:${proxy.port}` } }),
    );
    const d = await run("daemon proxy", "check", { image: `${target}/team/app:1.0`, config, env, daemonConfig });
    expect(d.codes).toContain("PROXY_DAEMON_MISMATCH:warning");
  }, 60_000);
});

describe("secrets never appear: other clients' credential sources", () => {
  const file = (name: string, text: string) => {
    const p = path.join(home.dir, `${++n}-${name}`);
    writeFileSync(p, text);
    return p;
  };
  const authJson = (pw: string) =>
    file("auth.json", JSON.stringify({ auths: { [`${basicReg.host}/team`]: { auth: btoa(`podu:${pw}`) } } }));
  const secretYaml = (pw: string) => {
    const json = JSON.stringify({ auths: { [basicReg.host]: { auth: btoa(`kubeu:${pw}`) } } });
    return file(
      "secret.yaml",
      `apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${btoa(json)}\n`,
    );
  };

  test("podman: auth.json from REGISTRY_AUTH_FILE (a namespace key), right and wrong", async () => {
    const ok = await run("auth.json", "check", {
      image: basicImage(),
      args: ["--client", "podman"],
      env: { REGISTRY_AUTH_FILE: authJson(S.authJson) },
    });
    expect([ok.code, errors(ok.codes)]).toEqual([0, []]);
    const bad = await run("auth.json wrong", "check", {
      image: basicImage(),
      args: ["--client", "podman"],
      env: { REGISTRY_AUTH_FILE: authJson(S.wrong) },
    });
    expect(bad.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
  }, 60_000);

  test("kubelet: pull secrets tried in order (a wrong one, then the right one), and each refused", async () => {
    const args = ["--client", "kubelet", "--pull-secret", secretYaml(S.wrong), "--pull-secret", secretYaml(S.pullSecret)];
    const ok = await run("pull secrets", "check", { image: basicImage(), args });
    expect([ok.code, errors(ok.codes)]).toEqual([0, []]);
    const bad = await run("pull secret wrong", "check", {
      image: basicImage(),
      args: ["--client", "kubelet", "--pull-secret", secretYaml(S.wrong)],
    });
    expect(bad.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
  }, 60_000);

  test("kubelet: a credential-provider plugin's answer, and a plugin that prints credentials then fails", async () => {
    const plugins = path.join(home.dir, `plugins-${++n}`);
    mkdirSync(plugins);
    const plugin = (name: string, body: string) => {
      writeFileSync(path.join(plugins, name), `#!/bin/sh\ncat >/dev/null\n${body}\n`);
      chmodSync(path.join(plugins, name), 0o755);
    };
    const answer = (user: string, pw: string) =>
      `printf '%s' '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","auth":{"${basicReg.host}":{"username":"${user}","password":"${pw}"}}}'`;
    plugin("se-plugin", answer("plugu", S.plugin));
    plugin("se-plugin-fail", `${answer("plugfail", S.pluginFail)}\nexit 1`);
    const provider = (name: string) =>
      `  - name: ${name}\n    matchImages: ["${basicReg.host}"]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n`;
    const config = file(
      "providers.yaml",
      `kind: CredentialProviderConfig\nproviders:\n${provider("se-plugin-fail")}${provider("se-plugin")}`,
    );
    const env = { PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_CONFIG: config, PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_BIN_DIR: plugins };
    const c = await run("plugin", "check", { image: basicImage(), args: ["--client", "kubelet"], env });
    expect(c.codes).toContain("CREDS_PROVIDER_FAILED:warning");
    expect(c.human).toContain("<credential JSON withheld>");
    expect(errors(c.codes)).toEqual([]);
  }, 60_000);
});

describe("secrets never appear: failing scenarios", () => {
  test("wrong password on a Basic registry (config.json and --password-stdin) ⇒ AUTH_UNAUTHORIZED; pull too", async () => {
    const config = { auths: { [basicReg.host]: { auth: btoa(`alice:${S.wrong}`) } } };
    const c = await run("basic wrong", "check", { image: basicImage(), config });
    expect(c.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
    const p = await run("basic wrong pull", "pull", { image: basicImage(), config });
    expect(p.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
    const s = await run("stdin wrong", "check", { image: basicImage(), args: ["--username", "alice", "--password-stdin"], stdin: S.wrong });
    expect(s.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
  }, 60_000);

  test("wrong password at the token realm, revoked identity token ⇒ AUTH_UNAUTHORIZED", async () => {
    const w = await run("token wrong", "pull", {
      image: tokenImage(),
      config: { auths: { [tokenReg.host]: { username: "tuser", password: S.wrong } } },
    });
    expect(w.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
    const r = await run("refresh revoked", "check", {
      image: tokenImage(),
      config: { auths: { [tokenReg.host]: { identitytoken: S.badRefresh } } },
    });
    expect(r.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
    // A registrytoken the registry does not accept (it is sent as the bearer itself).
    const t = await run("registrytoken", "pull", {
      image: tokenImage(),
      config: { auths: { [tokenReg.host]: { registrytoken: S.registryToken } } },
    });
    expect(t.report.verdict.ok).toBe(false);
  }, 60_000);

  test("a helper that fails after printing a credential, or with an error text ⇒ CREDS_HELPER_FAILED", async () => {
    const a = await run("helper json fail", "check", { image: basicImage(), config: { credHelpers: { [basicReg.host]: "sefail" } } });
    expect(a.codes).toContain("CREDS_HELPER_FAILED:error");
    const b = await run("helper text fail", "check", { image: basicImage(), config: { credsStore: "sefailtext" } });
    expect(b.codes).toContain("CREDS_HELPER_FAILED:error");
    // The helper's own words are quoted as Docker quotes them; a credential it printed never is.
    expect(b.human).toContain("keyring locked");
  }, 60_000);

  test("proxy 407: wrong proxy password ⇒ PROXY_AUTH_REQUIRED", async () => {
    const env = { HTTPS_PROXY: `http://proxybad:${encodeURIComponent(S.proxyWrong)}@127.0.0.1:${proxy.port}` };
    const c = await run("proxy 407", "pull", {
      image: `0.0.0.0:${basicReg.port}/team/app:1.0`,
      env,
      config: { auths: { [`0.0.0.0:${basicReg.port}`]: { auth: btoa(`alice:${S.alice}`) } } },
    });
    expect(c.report.verdict.code).toBe("PROXY_AUTH_REQUIRED");
  }, 60_000);
});

/** Every form of what a request carried, echoed back in headers and body by a hostile peer. */
function echoes(authorization: string | null): { headers: Record<string, string>; text: string } {
  const b64 = authorization?.replace(/^\S+\s+/, "") ?? "";
  const decoded = b64 ? Buffer.from(b64, "base64").toString("utf8") : "";
  const password = decoded.slice(decoded.indexOf(":") + 1);
  const headers = {
    "x-echo-authorization": authorization ?? "",
    "x-echo-credential": b64,
    "x-echo-password": password,
    "x-echo-encoded": encodeURIComponent(password),
  };
  return { headers, text: `rejected ${authorization} (${b64}) for password ${password} / ${encodeURIComponent(password)}` };
}

describe("secrets never appear: hostile peers echo the credentials back", () => {
  test("a token server and a registry that echo Authorization, base64 and password in headers and bodies", async () => {
    const realm = startRecorder({
      tls: leafCert,
      route: (q, u) => {
        if (u.pathname !== "/token") return null;
        const e = echoes(q.headers.get("authorization"));
        return new Response(JSON.stringify({ details: e.text }), {
          status: 401,
          headers: {
            ...e.headers,
            "content-type": "application/json",
            "www-authenticate": `Basic realm="${e.headers["x-echo-credential"]}"`,
          },
        });
      },
    });
    const reg = startRecorder({
      tls: leafCert,
      route: (q, u) => {
        const e = echoes(q.headers.get("authorization"));
        const body = JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: e.text, detail: e.headers }] });
        const challenge =
          u.pathname === "/v2/"
            ? `Bearer realm="${realm.url}/token",service="echo"`
            : `Basic realm="${e.headers["x-echo-credential"]}",error="${e.text}"`;
        return new Response(body, {
          status: 401,
          headers: {
            ...e.headers,
            "content-type": "application/json",
            "docker-distribution-api-version": "registry/2.0",
            "www-authenticate": challenge,
          },
        });
      },
    });
    stops.push(realm.stop, reg.stop);
    for (const host of [reg.host]) {
      mkdirSync(path.join(certsDir, host), { recursive: true });
      writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
    }
    const c = await run("echoing token server", "check", {
      image: `${reg.host}/team/app:1.0`,
      config: { auths: { [reg.host]: { auth: btoa(`echo:${S.echo}`) } } },
    });
    expect(c.report.verdict.code).toBe("AUTH_UNAUTHORIZED");
    expect(realm.seen.some((x) => x.headers.authorization === `Basic ${btoa(`echo:${S.echo}`)}`)).toBe(true);
    // The echoes were shown (redacted), so the search had them to find.
    expect(c.human).toContain("x-echo-password");
  }, 60_000);

  test("a proxy that echoes Proxy-Authorization in its 407 headers and body", async () => {
    const server = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.once("data", (d) => {
        const line =
          d
            .toString("latin1")
            .split("\r\n")
            .find((l) => /^proxy-authorization:/i.test(l)) ?? "";
        const e = echoes(line.slice(line.indexOf(":") + 1).trim() || null);
        const head = Object.entries(e.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\r\n");
        sock.end(
          `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="${e.headers["x-echo-credential"]}"\r\n${head}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(e.text)}\r\n\r\n${e.text}`,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stops.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const c = await run("echoing proxy", "check", {
      image: `0.0.0.0:${basicReg.port}/team/app:1.0`,
      env: { HTTPS_PROXY: `http://pecho:${encodeURIComponent(S.proxyEcho)}@127.0.0.1:${port}` },
    });
    expect(c.report.verdict.code).toBe("PROXY_AUTH_REQUIRED");
  }, 60_000);
});

describe("secrets never appear: credentials in mirror URLs", () => {
  test("daemon.json registry-mirrors and --mirror with user:password ⇒ refused, the password shown as xxxxx", async () => {
    const daemon = path.join(home.dir, "daemon-mirror.json");
    writeFileSync(daemon, JSON.stringify({ "registry-mirrors": [`https://muser:${S.mirror}@mirror.pd.test`] }));
    // docker.io: its DNS goes to the namespace's dead nameserver, never this machine's.
    const args = ["check", "alpine", "--verbose", "--daemon-config", daemon, "--certs-dir", certsDir, "--timeout", "1"];
    const j = await runInNs([...args, "--json"], { home: home.dir, dir: home.dir });
    const h = await runInNs(args, { home: home.dir, dir: home.dir });
    expect(j.report.findings.map((f: { code: string }) => f.code)).toContain("DAEMON_CONFIG_UNREADABLE");
    expect(j.stdout).toContain("muser:xxxxx@mirror.pd.test");
    const flag = await runCli(["check", "alpine", "--mirror", `https://muser:${S.mirror}@mirror.pd.test/?x=1`], { home: home.dir });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("muser:xxxxx@");
    expectClean("mirror userinfo", {
      "json stdout": j.stdout,
      "json stderr": j.stderr,
      "human stdout": h.stdout,
      "human stderr": h.stderr,
      "--mirror stderr": flag.stderr,
    });
  }, 60_000);
});
