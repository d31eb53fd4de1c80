import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseDaemonJson, readDaemonJson, readDropIns } from "../../src/host/daemon-config";
import { engineSocket, readInfo } from "../../src/host/engine-info";
import { tempDir } from "../helpers/context";
import { requireBinary } from "../peers/require";

describe("daemon.json as dockerd reads it", () => {
  const rows: [text: string, problem: string | null][] = [
    ["", null], // dockerd trims and accepts an empty file
    ["  \n", null],
    ["{}", null],
    ['{"registry-mirrors": ["https://m.example.com"]', "unexpected end of JSON input"],
    ['{"registry-mirrors": ["https://m.example.com"],}', "invalid character '}' looking for beginning of object key string"],
    ["{} {}", "invalid character '{' after top-level value"],
    ["<!DOCTYPE html>", "invalid character '<' looking for beginning of value"],
    [
      '{"registry-mirrors": "https://m.example.com"}',
      "json: cannot unmarshal string into Go struct field Config.registry-mirrors of type []string",
    ],
    ['{"insecure-registries": [5000]}', "json: cannot unmarshal number into Go struct field Config.insecure-registries of type string"],
    ["[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ];
  for (const [text, problem] of rows) {
    test(JSON.stringify(text), () => expect(parseDaemonJson(text).problem?.message ?? null).toBe(problem));
  }

  /**
   * The real dockerd on the files it must refuse: it stops at once with "unable to configure
   * the Docker daemon with file F: ERR". The dockerd here is 20.10, which read the file as a
   * stream, so where it words things differently `dockerd20` must say so. (Files that parse
   * would start a whole daemon, so only refused files are run.)
   */
  test("the real dockerd refuses the same files with the same words", async () => {
    const dockerd = requireBinary("dockerd", "docker.io");
    const version = spawnSync(dockerd, ["--version"]).stdout.toString();
    const is20 = /version 20\./.test(version);
    const t = tempDir("pd-dj-");
    try {
      const refused = [...rows.map(([text]) => text), "", '{"a": 1'].filter((text) => {
        const r = parseDaemonJson(text);
        return is20 ? (r.dockerd20 === undefined ? r.problem !== null : typeof r.dockerd20 === "string") : r.problem !== null;
      });
      expect(refused.length).toBeGreaterThanOrEqual(8);
      const problems: string[] = [];
      for (const [i, text] of refused.entries()) {
        const file = path.join(t.dir, `d${i}.json`);
        writeFileSync(file, text);
        const r = parseDaemonJson(text);
        const want = is20 && r.dockerd20 !== undefined ? r.dockerd20 : r.problem!.message;
        const dir = path.join(t.dir, `run${i}`);
        const out = await new Promise<string>((resolve) => {
          const child = spawn(dockerd, [
            "--config-file",
            file,
            "--host",
            `unix://${dir}/s.sock`,
            "--data-root",
            `${dir}/data`,
            "--exec-root",
            `${dir}/exec`,
            "--pidfile",
            `${dir}/p.pid`,
            "--iptables=false",
            "--bridge=none",
          ]);
          let o = "";
          child.stdout.on("data", (d) => (o += d));
          child.stderr.on("data", (d) => (o += d));
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          child.on("close", () => {
            clearTimeout(timer);
            resolve(o);
          });
        });
        const line = `unable to configure the Docker daemon with file ${file}: ${want}`;
        if (!out.includes(line))
          problems.push(`${JSON.stringify(text)}: expected ${JSON.stringify(line)}, dockerd said ${JSON.stringify(out.slice(0, 300))}`);
      }
      expect(problems).toEqual([]);
    } finally {
      t.cleanup();
    }
  }, 120_000);
  test("nesting past Go's 10,000 levels is dockerd's max-depth error, not a stack overflow", () => {
    // Before: 100,000 nested '[' threw RangeError (maximum call stack size) out of the config stage.
    const deep = `{"registry-mirrors":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(parseDaemonJson(deep).problem).toEqual({
      kind: "syntax",
      message: "invalid character '[' exceeded max depth",
      line: 1,
      column: 10020,
    });
  });
  test("proxies keys named like Object.prototype members are ignored like any unknown key", () => {
    // Before: "constructor": 1 was reported as a type error and "toString": "x" stored under a function's source text.
    expect(parseDaemonJson('{"proxies": {"constructor": 1, "toString": "x", "https-proxy": "http://p:3128"}}')).toMatchObject({
      problem: null,
      proxies: { https: "http://p:3128" },
    });
  });
  test("mirrors, insecure registries and proxies are read", () => {
    const r = parseDaemonJson(
      JSON.stringify({
        "registry-mirrors": ["https://m.example.com"],
        "insecure-registries": ["reg.local:5000", "10.0.0.0/8"],
        proxies: { "http-proxy": "http://p:3128", "https-proxy": "http://u:pw@p:3128", "no-proxy": "localhost,.corp" },
        debug: true,
      }),
    );
    expect(r).toEqual({
      mirrors: ["https://m.example.com"],
      insecureRegistries: ["reg.local:5000", "10.0.0.0/8"],
      proxies: { http: "http://p:3128", https: "http://u:pw@p:3128", no: "localhost,.corp" },
      problem: null,
      keys: ["registry-mirrors", "insecure-registries", "proxies", "debug"],
    });
  });
  test("line and column of a syntax error", () => {
    expect(parseDaemonJson('{\n  "debug": true,\n}\n').problem).toMatchObject({ line: 3, column: 1 });
  });
  test("absent file: not found, no problem", () => {
    expect(readDaemonJson("/nonexistent/daemon.json")).toMatchObject({ found: false, problem: null });
  });
});

describe("systemd drop-ins", () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  test("quoted and unquoted Environment=, /etc hides /usr/lib, name order, reset", () => {
    const etc = path.join(t.dir, "etc");
    const lib = path.join(t.dir, "lib");
    mkdirSync(etc, { recursive: true });
    mkdirSync(lib, { recursive: true });
    writeFileSync(path.join(lib, "http-proxy.conf"), '[Service]\nEnvironment="HTTP_PROXY=http://lib:1"\n');
    writeFileSync(
      path.join(etc, "http-proxy.conf"),
      '[Service]\nEnvironment="HTTP_PROXY=http://proxy.corp:3128" "NO_PROXY=localhost,127.0.0.1,.corp"\n',
    );
    writeFileSync(path.join(etc, "zz-https.conf"), "[Service]\nEnvironment=https_proxy=http://secure.corp:3129 OTHER=1\n");
    writeFileSync(path.join(lib, "aa-ignored.conf"), "[Unit]\nEnvironment=HTTP_PROXY=http://not-service:1\n");
    const r = readDropIns([etc, lib]);
    expect(r.proxies).toEqual({ http: "http://proxy.corp:3128", https: "http://secure.corp:3129", no: "localhost,127.0.0.1,.corp" });
    expect(r.setBy).toEqual([path.join(etc, "http-proxy.conf"), path.join(etc, "zz-https.conf")]);
    expect(r.files).toEqual([path.join(lib, "aa-ignored.conf"), path.join(etc, "http-proxy.conf"), path.join(etc, "zz-https.conf")]);
    expect(r.origin.https_proxy).toBe(path.join(etc, "zz-https.conf"));
    writeFileSync(path.join(etc, "zzz-reset.conf"), "[Service]\nEnvironment=\n");
    expect(readDropIns([etc, lib]).proxies).toBeNull();
  });
  test("no directories: nothing", () =>
    expect(readDropIns(["/nonexistent"])).toEqual({ files: [], setBy: [], proxies: null, env: {}, origin: {} }));
});

describe("docker contexts, as the real docker CLI stores them", () => {
  test("`docker context create` + currentContext/DOCKER_CONTEXT select that endpoint; DOCKER_HOST wins", () => {
    const docker = requireBinary("docker", "docker.io");
    const t = tempDir("pd-ctx-");
    try {
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: t.dir, DOCKER_CONFIG: t.dir };
      const r = spawnSync(docker, ["context", "create", "rootless", "--docker", "host=unix:///run/user/1000/docker.sock"], { env });
      expect(r.status).toBe(0);
      const byConfig = engineSocket({}, "/var/run/docker.sock", { configDir: t.dir, currentContext: "rootless" });
      expect(byConfig).toEqual({
        socketPath: "/run/user/1000/docker.sock",
        source: "unix:///run/user/1000/docker.sock",
        note: null,
        context: "rootless",
      });
      expect(engineSocket({ DOCKER_CONTEXT: "rootless" }, "/var/run/docker.sock", { configDir: t.dir }).socketPath).toBe(
        "/run/user/1000/docker.sock",
      );
      expect(
        engineSocket({ DOCKER_HOST: "unix:///x.sock" }, "/var/run/docker.sock", { configDir: t.dir, currentContext: "rootless" })
          .socketPath,
      ).toBe("/x.sock");
      expect(engineSocket({}, "/var/run/docker.sock", { configDir: t.dir, currentContext: "default" }).socketPath).toBe(
        "/var/run/docker.sock",
      );
      expect(engineSocket({}, "/var/run/docker.sock", { configDir: t.dir, currentContext: "gone" }).note).toContain(
        'docker context "gone"',
      );
      // A named pipe planted at a context's meta.json: read without blocking, reported as unreadable.
      const fifoDir = path.join(t.dir, "contexts", "meta", createHash("sha256").update("piped").digest("hex"));
      mkdirSync(fifoDir, { recursive: true });
      expect(Bun.spawnSync(["mkfifo", path.join(fifoDir, "meta.json")]).exitCode).toBe(0);
      expect(engineSocket({}, "/var/run/docker.sock", { configDir: t.dir, currentContext: "piped" })).toMatchObject({
        socketPath: null,
        context: "piped",
      });
    } finally {
      t.cleanup();
    }
  });
});

describe("Engine /info fields", () => {
  test("proxies, mirrors, insecure registries without Docker's defaults", () => {
    const info = {
      ServerVersion: "27.3.1",
      HttpProxy: "http://xxxxx:xxxxx@proxy.corp:3128",
      HttpsProxy: "",
      NoProxy: "localhost",
      RegistryConfig: {
        Mirrors: ["https://mirror.corp/"],
        InsecureRegistryCIDRs: ["::1/128", "127.0.0.0/8", "10.0.0.0/8"],
        IndexConfigs: { "docker.io": { Name: "docker.io", Secure: true }, "reg.local:5000": { Name: "reg.local:5000", Secure: false } },
      },
    };
    expect(readInfo(info)).toEqual({
      serverVersion: "27.3.1",
      operatingSystem: null,
      proxies: { http: "http://xxxxx:xxxxx@proxy.corp:3128", no: "localhost" },
      mirrors: ["https://mirror.corp/"],
      insecureRegistries: ["reg.local:5000", "10.0.0.0/8"],
    });
  });
  test("DOCKER_HOST: unix is used, tcp is only noted", () => {
    expect(engineSocket({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, "/var/run/docker.sock")).toEqual({
      socketPath: "/run/user/1000/docker.sock",
      source: "unix:///run/user/1000/docker.sock",
      note: null,
      context: null,
    });
    expect(engineSocket({ DOCKER_HOST: "tcp://10.0.0.5:2376" }, "/var/run/docker.sock").socketPath).toBeNull();
    expect(engineSocket({}, "/var/run/docker.sock")).toEqual({
      socketPath: "/var/run/docker.sock",
      source: "unix:///var/run/docker.sock",
      note: null,
      context: null,
    });
  });
});
