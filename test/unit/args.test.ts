import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";

function ok(argv: string[], env: Record<string, string> = {}) {
  const r = parseArgs(argv, env);
  if (!r.ok) throw new Error(r.error);
  return r;
}

describe("parseArgs", () => {
  test("commands and the image", () => {
    expect(ok(["check", "nginx"]).options).toMatchObject({ command: "check", image: "nginx" });
    expect(ok(["nginx"]).options).toMatchObject({ command: "interactive", image: "nginx" });
    expect(ok([]).options).toMatchObject({ command: "interactive", image: null });
    expect(ok(["explain", "DNS_NXDOMAIN"]).options).toMatchObject({ command: "explain", code: "DNS_NXDOMAIN" });
    expect(ok(["explain"]).options).toMatchObject({ command: "explain", code: null });
    expect(ok(["demo", "--tour"]).options).toMatchObject({ command: "demo", tour: true });
    expect(ok(["--version"]).options.command).toBe("version");
    expect(ok(["check", "--help"]).options.command).toBe("help");
  });

  test("values, repeatable flags and = forms", () => {
    const o = ok([
      "pull",
      "a/b:1",
      "--output=oci:/tmp/x:1",
      "--dns",
      "127.0.0.1:5353",
      "--dns=10.0.0.2",
      "--mirror",
      "https://m.example",
      "--insecure-registry",
      "r:5000",
      "--timeout",
      "2.5",
      "--concurrency",
      "4",
      "--platform",
      "linux/arm/v7",
      "--json",
    ]).options;
    expect(o.output).toBe("oci:/tmp/x:1");
    expect(o.dns).toEqual(["127.0.0.1:5353", "10.0.0.2"]);
    expect(o.mirrors).toEqual(["https://m.example"]);
    expect(o.insecureRegistries).toEqual(["r:5000"]);
    expect(o.timeoutMs).toBe(2500);
    expect(o.concurrency).toBe(4);
    expect(o.platform).toBe("linux/arm/v7");
    expect(o.json).toBe(true);
    expect(o.yes).toBe(true); // --json implies non-interactive
  });

  test("--platform: every specifier containerd's Parse accepts is kept as typed", () => {
    for (const p of ["arm64", "linux", "linux/arm64/v8", "windows(10.0.17763)/amd64", "Linux/x86_64", "freebsd/riscv64"])
      expect(ok(["check", "x", "--platform", p]).options.platform).toBe(p);
  });

  test("client options: --client, --docker-store, --containerd-config, repeatable --hosts-dir/--pull-secret, --registries-conf", () => {
    expect(ok(["check", "x"]).options).toMatchObject({ client: "auto", dockerStore: null, hostsDirs: [], pullSecrets: [] });
    const o = ok([
      "check",
      "x",
      "--client=kubelet",
      "--containerd-config",
      "/tmp/c.toml",
      "--hosts-dir",
      "/a",
      "--hosts-dir=/b",
      "--pull-secret",
      "one.yaml",
      "--pull-secret",
      "two.json",
      "--registries-conf",
      "/tmp/r.conf",
    ]).options;
    expect(o).toMatchObject({
      client: "kubelet",
      containerdConfig: "/tmp/c.toml",
      hostsDirs: ["/a", "/b"],
      pullSecrets: ["one.yaml", "two.json"],
      registriesConf: "/tmp/r.conf",
    });
    for (const c of ["auto", "docker", "containerd", "kubelet", "podman", "all"])
      expect(ok(["check", "x", "--client", c]).options.client as string).toBe(c);
    expect(ok(["check", "x", "--client", "docker", "--docker-store", "classic"]).options.dockerStore).toBe("classic");
  });

  test("colour: --no-color and NO_COLOR", () => {
    expect(ok(["check", "x"]).options.color).toBe(true);
    expect(ok(["check", "x", "--no-color"]).options.color).toBe(false);
    expect(ok(["check", "x"], { NO_COLOR: "1" }).options.color).toBe(false);
  });

  test("--password-stdin needs --username", () => {
    expect(parseArgs(["check", "x", "--password-stdin"]).ok).toBe(false);
    expect(ok(["check", "x", "--username", "u", "--password-stdin"]).passwordStdin).toBe(true);
  });

  test.each([
    [["check"], "check needs an IMAGE"],
    [["check", "x", "--bogus"], "unknown flag: --bogus"],
    [["check", "x", "--timeout"], "flag --timeout needs a value"],
    [["check", "x", "--timeout", "zero"], "--timeout takes seconds"],
    // 0 is refused, so the message does not say "between 0 and 3600".
    [["check", "x", "--timeout", "0"], `--timeout takes seconds, more than 0 and at most 3600, not "0"`],
    [["check", "x", "--concurrency", "0"], "--concurrency takes a whole number"],
    [["check", "x", "--output", "oci:x"], "--output is only for pull"],
    [["check", "x", "y"], "unexpected argument: y"],
    [["check", "x", "--json=1"], "flag --json takes no value"],
    [["check", "x", "--platform", "linux amd64"], "--platform takes OS/ARCH"],
    // containerd's Parse refuses these, so docker pull does too: misuse, before any network.
    [["check", "x", "--platform", "garbage"], `--platform takes OS/ARCH[/VARIANT]: "garbage": unknown operating system or architecture`],
    [["pull", "x", "--platform", "linux//x"], `"" is an invalid component of "linux//x"`],
    [["check", "x", "--platform", "linux/*"], `"linux/*": wildcards not yet supported`],
    [["check", "x", "--platform", "linux/amd64/v1/x"], `"linux/amd64/v1/x": cannot parse platform specifier`],
    [["check", "x", "--platform", "linux(%zz)/amd64"], `has an invalid OS version "%zz"`],
    [["check", "x", "--dns", "not a server"], "--dns takes SERVER[:PORT]"],
    // Silently ignored before: the run went anonymous / without the mirror.
    [["check", "x", "--username", "alice"], "--username needs --password-stdin"],
    [
      ["check", "x", "--mirror", "mirror.example.com"],
      `--mirror mirror.example.com: invalid mirror: no scheme specified for "mirror.example.com": must use either 'https://' or 'http://'`,
    ],
    [
      ["check", "x", "--mirror", "ftp://m.example"],
      `invalid mirror: unsupported scheme "ftp" in "ftp://m.example": must use either 'https://' or 'http://'`,
    ],
    [
      ["check", "x", "--mirror", "https://u:pw@m.example"],
      `invalid mirror: username/password not allowed in URI "https://u:xxxxx@m.example"`,
    ],
    [["check", "x", "--mirror", "https://m.example/?x=1"], `invalid mirror: query or fragment at end of the URI`],
    [["check", "x", "--client", "cri-o"], `--client takes auto, docker, containerd, kubelet, podman, all, not "cri-o"`],
    [["check", "x", "--client"], "flag --client needs a value"],
    [["check", "x", "--docker-store", "overlay2"], `--docker-store takes classic or containerd, not "overlay2"`],
    [["check", "x", "--client", "podman", "--docker-store", "classic"], "--docker-store is for --client docker"],
    [["check", "x", "--client", "containerd", "--pull-secret", "s.yaml"], "--pull-secret is for --client kubelet"],
  ])("misuse %p", (argv, msg) => {
    const r = parseArgs(argv as string[]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg as string);
  });
});

describe("many images: -f, --all, --format", () => {
  test("egress takes several images and -f files (repeatable, - for stdin)", () => {
    expect(ok(["egress", "a:1", "b:2", "--format", "csv"]).options).toMatchObject({
      command: "egress",
      images: ["a:1", "b:2"],
      image: "a:1",
      format: "csv",
    });
    expect(ok(["egress", "-f", "compose.yaml", "--file=-", "--all"]).options).toMatchObject({
      images: [],
      files: ["compose.yaml", "-"],
      all: true,
    });
  });

  test("check -f needs no IMAGE; without -f it still does", () => {
    expect(ok(["check", "-f", "k8s.yaml"]).options).toMatchObject({ command: "check", files: ["k8s.yaml"], image: null, images: [] });
    expect(ok(["pull", "-f", "k8s.yaml", "--output", "oci:d"]).options).toMatchObject({
      command: "pull",
      files: ["k8s.yaml"],
      image: null,
    });
    expect(ok(["-f", "k8s.yaml"]).options).toMatchObject({ command: "interactive", files: ["k8s.yaml"] });
    expect(ok(["pull", "-a", "-q", "nginx", "--limit-rate", "500k"]).options).toMatchObject({
      allTags: true,
      quiet: true,
      limitRate: 500 * 1024,
      image: "nginx",
    });
    expect(ok(["check", "-f", "k8s.yaml", "extra:1"]).options).toMatchObject({ images: ["extra:1"] });
  });

  test.each([
    [["egress"], "egress needs an IMAGE or -f FILE"],
    [["egress", "a", "--format", "yaml"], '--format takes plain, json or csv, not "yaml"'],
    [["ref", "a", "-f", "x.yaml"], "-f/--file is for check, pull, egress and the interactive doctor"],
    [["a", "-f", "x.yaml"], "-f/--file is for check, pull, egress and the interactive doctor"],
    [["check", "a", "-q"], "--all-tags, --quiet and --limit-rate are for pull"],
    [["pull", "a:1", "--limit-rate", "10Mbit"], "--limit-rate takes bytes per second"],
    [["check", "a", "--format", "csv"], "--format is only for egress"],
    [["check", "a", "--all"], "--all goes with -f FILE"],
    [["egress", "-f"], "flag -f needs a value"],
  ])("misuse %p", (argv, msg) => {
    const r = parseArgs(argv as string[]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg as string);
  });
});
