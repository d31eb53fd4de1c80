import { describe, expect, test } from "bun:test";
import path from "node:path";
import { lookupHostsFile, lookupHostsText } from "../../src/net/hosts-file";
import { tempDir } from "../helpers/context";

const HOSTS = [
  "127.0.0.1 localhost",
  "::1 localhost ip6-localhost",
  "# 10.9.9.9 registry.corp.example",
  "10.0.0.9\tRegistry.Corp.Example  reg   # pinned for the lab",
  "bogus registry.corp.example",
  "10.0.0.10",
  "fd00::9 registry.corp.example.",
  "10.0.0.9 registry.corp.example",
].join("\n");

describe("hosts file (Go's net/hosts.go)", () => {
  test("matches case-insensitively, with or without trailing dot, all lines in order, comments stripped", () => {
    const m = lookupHostsText(HOSTS, "registry.corp.example");
    expect(m.addresses).toEqual(["10.0.0.9", "fd00::9"]);
    expect(m.lines).toEqual([
      "4: 10.0.0.9\tRegistry.Corp.Example  reg   # pinned for the lab",
      "7: fd00::9 registry.corp.example.",
      "8: 10.0.0.9 registry.corp.example",
    ]);
    expect(lookupHostsText(HOSTS, "REGISTRY.corp.example.").addresses).toEqual(["10.0.0.9", "fd00::9"]);
  });
  test("aliases match; unknown names and a line without a name do not", () => {
    expect(lookupHostsText(HOSTS, "reg").addresses).toEqual(["10.0.0.9"]);
    expect(lookupHostsText(HOSTS, "ip6-localhost").addresses).toEqual(["::1"]);
    expect(lookupHostsText(HOSTS, "other.example").addresses).toEqual([]);
  });
  test("a missing file matches nothing and says why", () => {
    const { dir, cleanup } = tempDir();
    try {
      const m = lookupHostsFile(path.join(dir, "missing"), "localhost");
      expect(m.addresses).toEqual([]);
      expect(m.error).toContain("ENOENT");
    } finally {
      cleanup();
    }
  });
});
