import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { runDoctor } from "../../src/doctor/run";
import type { Facts } from "../../src/model/facts";
import { buildReport } from "../../src/model/report";
import { Secret } from "../../src/model/secret";
import type { StageOutcome } from "../../src/model/stage";
import { parseReference } from "../../src/registry/reference";
import { configStage } from "../../src/stages/config";
import { referenceStage } from "../../src/stages/reference";
import { tempDir, testContext, testDeps, testOptions } from "../helpers/context";

/**
 * The config stage against real files, real helper executables (shell scripts speaking
 * the docker-credential protocol) and a real unix-socket HTTP server answering /info.
 */
const t = tempDir("pd-config-");
afterAll(() => t.cleanup());
let n = 0;

interface Setup {
  config?: string;
  helpers?: Record<string, string>; // name → shell body (stdin is the server URL)
  daemon?: string;
  dropIn?: string;
  env?: Record<string, string>;
  image?: string;
  options?: Parameters<typeof testOptions>[0];
  socket?: string;
}

async function run(s: Setup): Promise<{ out: StageOutcome; dir: string; configPath: string; daemonPath: string }> {
  const dir = path.join(t.dir, `c${n++}`);
  const bin = path.join(dir, "bin");
  mkdirSync(path.join(dir, ".docker"), { recursive: true });
  mkdirSync(bin, { recursive: true });
  const configPath = path.join(dir, ".docker", "config.json");
  if (s.config !== undefined) writeFileSync(configPath, s.config);
  for (const [name, body] of Object.entries(s.helpers ?? {})) {
    const p = path.join(bin, `docker-credential-${name}`);
    writeFileSync(p, `#!/bin/sh\nIFS= read -r url || [ -n "$url" ]\n${body}\n`);
    chmodSync(p, 0o755);
  }
  const daemonPath = path.join(dir, "daemon.json");
  if (s.daemon !== undefined) writeFileSync(daemonPath, s.daemon);
  const dropDir = path.join(dir, "docker.service.d");
  if (s.dropIn !== undefined) {
    mkdirSync(dropDir, { recursive: true });
    writeFileSync(path.join(dropDir, "http-proxy.conf"), s.dropIn);
  }
  // Only the test's own bin: a pass/secretservice installed on the host must not be detected.
  const deps = testDeps({ dir, env: { PATH: bin, ...(s.env ?? {}) } });
  deps.paths.dockerSocket = s.socket ?? path.join(dir, "no-docker.sock");
  const ctx = testContext({
    options: { daemonConfig: daemonPath, certsDir: path.join(dir, "certs.d"), ...s.options },
    facts: { ref: parseReference(s.image ?? "localhost:5000/team/app:1.0") } as Facts,
  });
  const out = await configStage.run({ ...ctx, deps });
  return { out, dir, configPath, daemonPath };
}

const codes = (o: StageOutcome) => o.findings.map((f) => `${f.code}:${f.severity}`);
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("config stage: client credentials", () => {
  test("nothing configured: CREDS_NONE, anonymous", async () => {
    const { out } = await run({});
    expect(codes(out)).toEqual(["CREDS_NONE:info"]);
    expect(out.provides?.credential).toBeNull();
    expect(out.provides?.local?.dockerConfig.found).toBe(false);
    expect(out.summary).toContain("anonymous");
    expect(out.summary).toContain("daemon: 0 mirrors, 0 insecure");
    expect(out.summary).not.toContain("this run adds");
    // The fix names the image the user asked about, not a placeholder.
    expect(out.findings[0]!.fixes).toContain(
      "Or for this run only: pulldoctor check localhost:5000/team/app:1.0 --username USER --password-stdin (the password on stdin)",
    );
  });

  test("--insecure-registry and --mirror appear in the summary next to the daemon's settings", async () => {
    // The tour printed "0 insecure" while --insecure-registry was given and connect said "(insecure)".
    const { out } = await run({ options: { insecureRegistries: ["127.0.0.1:5000"], mirrors: ["https://mirror.example"] } });
    expect(out.summary).toContain(
      "daemon: 0 mirrors, 0 insecure, proxy none; this run adds --insecure-registry 127.0.0.1:5000, --mirror https://mirror.example",
    );
    expect(out.evidence.flags).toEqual({ insecureRegistries: ["127.0.0.1:5000"], mirrors: ["https://mirror.example"] });
  });

  test("auths in plain text: CREDS_PLAINTEXT, credential with username, secret nowhere in the outcome", async () => {
    const pw = "s3cr3t-Plaintext-pw";
    const { out, configPath } = await run({
      config: JSON.stringify({ auths: { "localhost:5000": { auth: b64(`alice:${pw}`) }, "ghcr.io": { auth: b64("bob:x1y2z3") } } }),
    });
    expect(codes(out)).toEqual(["CREDS_PLAINTEXT:warning"]);
    const c = out.provides!.credential!;
    expect(c.username).toBe("alice");
    expect(c.password).toBeInstanceOf(Secret);
    expect(c.password!.reveal()).toBe(pw);
    expect(c.source).toBe(`auths[localhost:5000] in ${configPath}`);
    expect(out.findings[0]!.detail).toContain("and 1 other entry");
    expect(JSON.stringify(out)).not.toContain(pw);
    expect(JSON.stringify(out)).not.toContain(b64(`alice:${pw}`));
    expect((out.evidence.credentials as { username: string }).username).toBe("alice");
    // Copied by mistake into any string, the file's values are still scrubbed from a report.
    const leaked = buildReport({
      command: "check",
      image: "x",
      platform: null,
      ref: null,
      stages: [],
      findings: [],
      verdict: { ok: true, code: null, summary: `oops ${b64(`alice:${pw}`)} ${pw}` },
    });
    expect(JSON.stringify(leaked)).not.toContain(pw);
    expect(JSON.stringify(leaked)).not.toContain(b64(`alice:${pw}`));
  });

  test("a type error elsewhere in config.json: credentials still found, and said so", async () => {
    const { out } = await run({
      config: JSON.stringify({ auths: { "localhost:5000": { auth: b64("dave:pw-typed-1") } }, features: { buildkit: true } }),
    });
    expect(codes(out)).toEqual(["CONFIG_UNREADABLE:warning", "CREDS_NONE:info"]);
    // Docker returns at the type error before decoding `auth`: the entry has no username.
    expect(out.findings[0]!.detail).toContain("json: cannot unmarshal bool into Go struct field ConfigFile.features of type string");
    expect(out.findings[0]!.detail).toContain("anonymous");
  });

  test("a legacy https:// key matches host:port (ConvertToHostname)", async () => {
    const { out } = await run({
      config: JSON.stringify({ auths: { "https://localhost:5000/v2/": { auth: b64("carol:pw-legacy-key") } } }),
    });
    expect(out.provides!.credential!.username).toBe("carol");
    expect((out.evidence.credentials as { matchKind: string }).matchKind).toBe("hostname");
  });

  test("credsStore helper not on PATH: CREDS_HELPER_MISSING with Docker's exact text", async () => {
    const { out } = await run({ config: JSON.stringify({ credsStore: "desktop" }) });
    expect(codes(out)).toEqual(["CREDS_HELPER_MISSING:error"]);
    const f = out.findings[0]!;
    expect(f.detail).toContain(
      'error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH, out: ``',
    );
    expect(f.fixes.join("\n")).toContain('remove "credsStore": "desktop"');
    expect(out.provides?.credential).toBeNull();
  });

  test("credHelpers helper fails: CREDS_HELPER_FAILED with exit status and its stdout", async () => {
    const { out } = await run({
      config: JSON.stringify({ credHelpers: { "localhost:5000": "locked" } }),
      helpers: { locked: "printf 'error getting credentials: keychain locked'; exit 1" },
    });
    expect(codes(out)).toEqual(["CREDS_HELPER_FAILED:error"]);
    expect(out.findings[0]!.detail).toContain("exit 1");
    expect(out.findings[0]!.detail).toContain(
      "error getting credentials - err: exit status 1, out: `error getting credentials: keychain locked`",
    );
    expect(out.findings[0]!.fixes[0]).toBe("Run it yourself to see the full error: echo 'localhost:5000' | docker-credential-locked get");
  });

  test("a helper printing garbage: CREDS_HELPER_FAILED with Go's JSON error", async () => {
    const { out } = await run({ config: JSON.stringify({ credsStore: "weird" }), helpers: { weird: "echo 'Password:'; exit 0" } });
    expect(codes(out)).toEqual(["CREDS_HELPER_FAILED:error"]);
    expect(out.findings[0]!.evidence.dockerError).toBe("invalid character 'P' looking for beginning of value");
  });

  test("no store configured, a broken secretservice on PATH: Docker uses it anyway (detected)", async () => {
    const { out } = await run({ helpers: { secretservice: "printf 'Cannot autolaunch D-Bus without X11 $DISPLAY'; exit 1" } });
    expect(codes(out)).toEqual(["CREDS_HELPER_FAILED:error"]);
    const f = out.findings[0]!;
    expect(f.detail).toContain("no credsStore in config.json: Docker picked docker-credential-secretservice");
    expect(f.fixes.join("\n")).toContain("apt-get remove golang-docker-credential-helpers");
    expect((out.evidence.credentials as { helperVia: string }).helperVia).toBe("detected");
  });

  test("a helper that hangs is cut off at the timeout", async () => {
    const started = performance.now();
    const { out } = await run({
      config: JSON.stringify({ credsStore: "hang" }),
      helpers: { hang: "exec /bin/sleep 30" },
      options: { timeoutMs: 800 },
    });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(codes(out)).toEqual(["CREDS_HELPER_FAILED:error"]);
    expect((out.findings[0]!.evidence as { timedOut: boolean }).timedOut).toBe(true);
  });

  test("helper answers <token>: an identity token, never shown", async () => {
    const tok = "refresh-token-abcdef123456";
    const { out } = await run({
      config: JSON.stringify({ credHelpers: { "localhost:5000": "tok" } }),
      helpers: { tok: `printf '%s' '{"ServerURL":"","Username":"<token>","Secret":"${tok}"}'` },
    });
    expect(codes(out)).toEqual([]);
    const c = out.provides!.credential!;
    expect(c.identityToken?.reveal()).toBe(tok);
    expect(c.username).toBeUndefined();
    expect(c.source).toBe("credHelpers[localhost:5000] → docker-credential-tok");
    const run0 = (out.evidence.credentials as { helperRuns: { exitCode: number; stdin: string }[] }).helperRuns[0]!;
    expect(run0).toMatchObject({ exitCode: 0, stdin: "localhost:5000" });
    const report = buildReport({
      command: "check",
      image: "x",
      platform: null,
      ref: null,
      stages: [{ id: "config", endpoint: null, status: "pass", durationMs: 1, summary: out.summary, evidence: out.evidence }],
      findings: out.findings,
      verdict: { ok: true, code: null, summary: "" },
    });
    expect(JSON.stringify(out)).not.toContain(tok);
    expect(JSON.stringify(report)).not.toContain(tok);
  });

  test("Docker Hub is looked up under https://index.docker.io/v1/ only", async () => {
    const { out } = await run({ image: "nginx", config: JSON.stringify({ auths: { "docker.io": { auth: b64("hub:pw-not-used") } } }) });
    expect(codes(out)).toEqual(["CREDS_NONE:info"]);
    expect(out.findings[0]!.detail).toContain("https://index.docker.io/v1/");
  });

  test("DOCKER_AUTH_CONFIG wins over config.json", async () => {
    const { out } = await run({
      env: { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { "localhost:5000": { auth: b64("envuser:envpw-123") } } }) },
      config: JSON.stringify({ credsStore: "desktop" }),
    });
    expect(codes(out)).toEqual([]);
    expect(out.provides!.credential!.source).toBe(
      "DOCKER_AUTH_CONFIG auths[localhost:5000] (read by Docker CLI 29+; older CLIs ignore it)",
    );
  });

  test("DOCKER_AUTH_CONFIG Docker cannot use: CONFIG_UNREADABLE (env), config.json used instead", async () => {
    const { out } = await run({
      env: { DOCKER_AUTH_CONFIG: '{"auths":{"localhost:5000":{"username":"u","password":"pw-env-7777"}}}' },
      config: JSON.stringify({ auths: { "localhost:5000": { auth: b64("filer:pw-file-8888") } } }),
    });
    expect(codes(out)).toEqual(["CREDS_PLAINTEXT:warning", "CONFIG_UNREADABLE:warning"]);
    const f = out.findings[1]!;
    expect(f.detail).toBe(
      'DOCKER_AUTH_CONFIG: json: unknown field "username". Docker CLI 29+ ignores the variable and uses config.json and its helpers instead (older CLIs never read it).',
    );
    expect(f.fixes[0]).toContain("python3 -m json.tool");
    expect(out.provides!.credential!.username).toBe("filer");
    expect(JSON.stringify(out)).not.toContain("pw-env-7777");
  });

  test("--username/--password-stdin override everything, no helper is run", async () => {
    const { out } = await run({
      config: JSON.stringify({ credsStore: "desktop" }),
      options: { username: "ci", password: new Secret("from-stdin-pw-999") },
    });
    expect(codes(out)).toEqual([]);
    expect(out.provides!.credential).toMatchObject({ source: "--username", username: "ci", lookupKey: "localhost:5000" });
    expect(JSON.stringify(out)).not.toContain("from-stdin-pw-999");
  });

  test("malformed config.json: CONFIG_UNREADABLE with line:column, anonymous, file untouched", async () => {
    const text = '{\n  "auths": {\n    "localhost:5000": {"auth": "YTpi"},\n  }\n}\n';
    const { out, configPath } = await run({ config: text });
    expect(codes(out)).toEqual(["CONFIG_UNREADABLE:warning", "CREDS_NONE:info"]);
    expect(out.findings[0]!.detail).toBe(
      `${configPath}:4:3: invalid character '}' looking for beginning of object key string. Docker goes on with what it decoded before the error (for a syntax error: nothing), so this pull is anonymous.`,
    );
    expect(out.findings[0]!.evidence.dockerWarning).toBe(
      `WARNING: Error parsing config file (${configPath}): invalid character '}' looking for beginning of object key string`,
    );
    expect(readFileSync(configPath, "utf8")).toBe(text);
    expect(readdirSync(path.dirname(configPath))).toEqual(["config.json"]);
  });
});

describe("config stage: daemon side", () => {
  test("malformed daemon.json: DAEMON_CONFIG_UNREADABLE error, file untouched", async () => {
    const text = '{"registry-mirrors": ["https://mirror.example.com"],}';
    const { out, daemonPath } = await run({ daemon: text });
    expect(codes(out)).toContain("DAEMON_CONFIG_UNREADABLE:error");
    expect(out.findings.find((f) => f.code === "DAEMON_CONFIG_UNREADABLE")!.detail).toBe(
      `${daemonPath}:1:53: invalid character '}' looking for beginning of object key string`,
    );
    const eof = await run({ daemon: '{"debug": true' });
    expect(eof.out.findings.find((f) => f.code === "DAEMON_CONFIG_UNREADABLE")!.detail).toBe(
      `${eof.daemonPath}:1:15: unexpected end of JSON input (dockerd 20.10 words it: unexpected EOF.)`,
    );
    expect(readFileSync(daemonPath, "utf8")).toBe(text);
  });

  test("a registry-mirrors entry without a scheme: DAEMON_CONFIG_UNREADABLE with moby's ValidateMirror text, not a silently dropped mirror", async () => {
    // Checked by hand against the dockerd 20.10 here: "failed to start daemon: invalid mirror: unsupported scheme "" in "mirror.example.com"".
    const { out, daemonPath } = await run({ daemon: '{"registry-mirrors": ["mirror.example.com"]}' });
    const f = out.findings.find((x) => x.code === "DAEMON_CONFIG_UNREADABLE")!;
    expect(f.severity).toBe("error");
    expect(f.detail).toBe(
      `${daemonPath}: invalid mirror: no scheme specified for "mirror.example.com": must use either 'https://' or 'http://' dockerd refuses to start with this registry-mirrors entry (dockerd 20.10 says: failed to start daemon: invalid mirror: unsupported scheme "" in "mirror.example.com").`,
    );
    expect(f.evidence).toMatchObject({ kind: "value", mirror: "mirror.example.com" });
    const good = await run({ daemon: '{"registry-mirrors": ["https://mirror.example.com"]}' });
    expect(codes(good.out)).not.toContain("DAEMON_CONFIG_UNREADABLE:error");
  });

  test("an empty daemon.json: fine for current dockerd, fatal for 20.10 (warning)", async () => {
    const { out } = await run({ daemon: "" });
    const f = out.findings.find((x) => x.code === "DAEMON_CONFIG_UNREADABLE")!;
    expect(f.severity).toBe("warning");
    expect(f.detail).toContain("dockerd 20.10");
    expect(f.evidence.dockerd20).toBe("EOF");
  });

  test("daemon.json and drop-ins: mirrors, insecure, proxies (credentials redacted in evidence)", async () => {
    const { out } = await run({
      daemon: JSON.stringify({
        "registry-mirrors": ["https://mirror.example.com"],
        "insecure-registries": ["reg.local:5000"],
        proxies: { "https-proxy": "http://u:proxypw@p.corp:3128" },
      }),
      dropIn: '[Service]\nEnvironment="HTTPS_PROXY=http://dropin.corp:3128" "NO_PROXY=localhost"\n',
    });
    const local = out.provides!.local!;
    expect(local.daemon).toMatchObject({
      found: true,
      mirrors: ["https://mirror.example.com"],
      insecureRegistries: ["reg.local:5000"],
      proxies: { https: "http://u:proxypw@p.corp:3128" },
      liveProxies: { https: "http://dropin.corp:3128", no: "localhost" },
    });
    expect(local.daemon.liveSource).toContain("systemd drop-in");
    expect(JSON.stringify(out.evidence)).not.toContain("proxypw");
  });

  test("live Engine /info over a unix socket (Bun.serve) wins", async () => {
    const sock = path.join(t.dir, "engine.sock");
    const server = Bun.serve({
      unix: sock,
      fetch(req) {
        if (new URL(req.url).pathname !== "/info") return new Response("not found", { status: 404 });
        return Response.json({
          ServerVersion: "27.3.1",
          HttpProxy: "http://xxxxx:xxxxx@live.corp:3128",
          NoProxy: "*.local",
          RegistryConfig: {
            Mirrors: ["https://live-mirror.corp/"],
            InsecureRegistryCIDRs: ["127.0.0.0/8"],
            IndexConfigs: { "docker.io": { Name: "docker.io", Secure: true } },
          },
        });
      },
    });
    try {
      // The default daemon.json path: the running Engine's settings win.
      const { out } = await run({ options: { daemonConfig: "/etc/docker/daemon.json" }, env: { DOCKER_HOST: `unix://${sock}` } });
      const d = out.provides!.local!.daemon;
      expect(d.mirrors).toEqual(["https://live-mirror.corp/"]);
      // A daemon.json the user points at is what they want checked.
      const own = await run({
        daemon: JSON.stringify({ "registry-mirrors": ["https://file-mirror.example.com"] }),
        env: { DOCKER_HOST: `unix://${sock}` },
      });
      expect(own.out.provides!.local!.daemon.mirrors).toEqual(["https://file-mirror.example.com"]);
      expect(own.out.provides!.local!.daemon.liveProxies).toEqual({ http: "http://xxxxx:xxxxx@live.corp:3128", no: "*.local" });
      expect(d.liveProxies).toEqual({ http: "http://xxxxx:xxxxx@live.corp:3128", no: "*.local" });
      expect(d.liveSource).toBe(`Engine GET /info on unix://${sock}`);
      expect(out.evidence.engine).toMatchObject({ ok: true, serverVersion: "27.3.1" });
      expect((own.out.evidence.daemonJson as { mirrors: string[] }).mirrors).toEqual(["https://file-mirror.example.com"]);
    } finally {
      server.stop(true);
    }
  });

  test("an Engine socket that never answers costs at most its short timeout", async () => {
    const sock = path.join(t.dir, "silent.sock");
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const started = performance.now();
      const { out } = await run({ socket: sock, options: { timeoutMs: 1000 } });
      expect(performance.now() - started).toBeLessThan(2500);
      expect(out.evidence.engine).toMatchObject({ ok: false });
      expect(String((out.evidence.engine as { error: string }).error)).toContain("no answer");
      expect(out.provides!.local!.daemon.liveSource).toBeNull();
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  test("certs.d for the registry host is noted", async () => {
    const { out, dir } = await run({});
    expect(out.evidence.certsD).toMatchObject({ hostDir: path.join(dir, "certs.d", "localhost:5000"), exists: false });
  });
});

describe("config stage in the runner", () => {
  test("reference then config: facts flow, an invalid reference skips config", async () => {
    const deps = testDeps();
    const ok = await runDoctor({
      stages: [referenceStage, configStage],
      options: testOptions({ image: "localhost:5000/a:1" }),
      deps,
      trace: { record() {} },
    });
    expect(ok.localResults.map((r) => `${r.id}:${r.status}`)).toEqual(["reference:pass", "config:pass"]);
    expect(ok.localFacts.credential).toBeNull();
    const bad = await runDoctor({
      stages: [referenceStage, configStage],
      options: testOptions({ image: "Bad/Name" }),
      deps,
      trace: { record() {} },
    });
    expect(bad.localResults.map((r) => `${r.id}:${r.status}`)).toEqual(["reference:fail", "config:skip"]);
  });
});
