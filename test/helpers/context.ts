import { afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Deps } from "../../src/model/deps";
import { hostPlatform } from "../../src/model/deps";
import type { Facts } from "../../src/model/facts";
import { defaultOptions, type Options } from "../../src/model/options";
import type { Endpoint, StageContext } from "../../src/model/stage";
import { MemoryTrace } from "../../src/model/trace";
import { lookupHostsFile } from "../../src/net/hosts-file";

/** A temp dir removed by the returned cleanup (call it in afterAll/afterEach). */
export function tempDir(prefix = "pd-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One temp dir per test file for every testDeps() HOME, removed after the file's tests: the suite
 * makes some 18,000 of them, and each was left in /tmp by every run. (`bun test` runs no
 * process "exit" handlers; an afterAll registered while a file runs does run.)
 */
let depsRoot: string | null = null;
function depsDir(): string {
  if (!depsRoot) {
    const root = mkdtempSync(path.join(os.tmpdir(), "pd-deps-"));
    depsRoot = root;
    afterAll(() => {
      rmSync(root, { recursive: true, force: true });
      if (depsRoot === root) depsRoot = null;
    });
  }
  return mkdtempSync(path.join(depsRoot, "d-"));
}

/**
 * Deps for tests: an empty environment, a temp HOME, and resolv.conf/hosts files the
 * test controls (by default an empty hosts file and a resolv.conf with no servers).
 */
export function testDeps(over: Partial<Deps> & { dir?: string } = {}): Deps {
  const dir = over.dir ?? depsDir();
  const resolvConf = path.join(dir, "resolv.conf");
  const hosts = path.join(dir, "hosts");
  writeFileSync(resolvConf, "", { flag: "a" });
  writeFileSync(hosts, "127.0.0.1 localhost\n::1 localhost\n", { flag: "a" });
  const { dir: _d, ...rest } = over;
  return {
    env: {},
    now: () => new Date(),
    homeDir: dir,
    paths: { resolvConf, hosts, systemdDropIns: [path.join(dir, "docker.service.d")], dockerSocket: path.join(dir, "no-docker.sock") },
    hostPlatform: hostPlatform(),
    signal: new AbortController().signal,
    // The "system resolver" of a test answers from the test's own hosts file only, so no
    // test ever asks this machine's nameserver; a name it lacks is ENOTFOUND, as getaddrinfo says.
    systemLookup: async (hostname: string) => {
      const m = lookupHostsFile(rest.paths?.hosts ?? hosts, hostname);
      if (m.addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      return m.addresses.map((address) => ({ address, family: (address.includes(":") ? 6 : 4) as 4 | 6 }));
    },
    ...rest,
  };
}

export function testOptions(over: Partial<Options> = {}): Options {
  // Judged as classic Docker unless a test names a client (auto would depend on this machine).
  return defaultOptions({
    timeoutMs: 3000,
    daemonConfig: "/nonexistent/daemon.json",
    certsDir: "/nonexistent/certs.d",
    client: "docker",
    dockerStore: "classic",
    ...over,
  });
}

export function endpointFor(url: string, over: Partial<Endpoint> = {}): Endpoint {
  const u = new URL(url);
  const scheme = u.protocol === "http:" ? "http" : "https";
  return {
    url: `${scheme}://${u.host}`,
    host: u.host,
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : scheme === "https" ? 443 : 80,
    role: "upstream",
    insecure: false,
    pathPrefix: "",
    ...over,
  };
}

export function testContext(
  over: { options?: Partial<Options>; deps?: Partial<Deps>; endpoint?: Endpoint | null; facts?: Facts } = {},
): StageContext & { trace: MemoryTrace } {
  return {
    options: testOptions(over.options),
    deps: testDeps(over.deps),
    endpoint: over.endpoint ?? null,
    facts: over.facts ?? {},
    trace: new MemoryTrace(),
  };
}
