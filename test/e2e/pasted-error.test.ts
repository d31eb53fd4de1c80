import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { ROOT, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { EXPECTED_CLIENT, EXPECTED_CODE, type PeerClient, SCENARIOS, type Scenario, startPastedLab } from "../peers/pasted-errors-lab";

/**
 * The compiled binary reading pasted errors: as an argument and on standard input, as text and
 * --json (validated against docs/pasted-error.schema.json), exit 0/1/2; then the real clients run
 * again against the lab and their fresh text must still be recognised (wording drift is caught).
 */
const t = tempDir("pd-pasted-e2e-");
afterAll(() => t.cleanup());
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, "docs/pasted-error.schema.json"), "utf8")));
const run = (args: string[], stdin?: string) => runCli(args, { home: t.dir, stdin });

const KUBELET =
  'Warning  Failed     12s (x3 over 50s)  kubelet  Failed to pull image "registry.example.com/team/app:nope": rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/team/app:nope": failed to resolve reference "registry.example.com/team/app:nope": registry.example.com/team/app:nope: not found';

describe("explain --error through the binary", () => {
  test("TEXT as an argument: client, codes with why, image, the check command; exit 0", async () => {
    const r = await run(["explain", "--error", KUBELET]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Client   kubelet (runtime containerd");
    expect(r.stdout).toContain("MANIFEST_UNKNOWN");
    expect(r.stdout).toContain("why:");
    expect(r.stdout).toContain("Image    registry.example.com/team/app:nope");
    expect(r.stdout).toContain("pulldoctor check registry.example.com/team/app:nope --client kubelet");
  });
  test("- reads standard input; --json is the schema's object", async () => {
    const r = await run(["explain", "--error", "-", "--json"], `Events:\n${KUBELET}\n`);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(validate(j)).toBe(true);
    expect(j.client.name).toBe("kubelet");
    expect(j.codes[0].code).toBe("MANIFEST_UNKNOWN");
    expect(j.image.canonical).toBe("registry.example.com/team/app:nope");
    expect(j.command).toBe("pulldoctor check registry.example.com/team/app:nope --client kubelet");
  });
  test("not a pull error: exit 1, said so (text and --json)", async () => {
    for (const text of [
      'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1',
      'Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "prod"',
      "    Last State:  Terminated\n      Reason:    OOMKilled\n      Exit Code: 137",
    ]) {
      const r = await run(["explain", "--error", text]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("Not a pull error");
      const j = await run(["explain", "--error", text, "--json"]);
      expect(j.code).toBe(1);
      const o = JSON.parse(j.stdout);
      expect(validate(o)).toBe(true);
      expect(o.recognised).toBe(false);
    }
  });
  test("misuse is exit 2: --error outside explain, with a CODE, empty text or empty stdin", async () => {
    for (const args of [
      ["check", "nginx", "--error", "x"],
      ["explain", "MANIFEST_UNKNOWN", "--error", "manifest unknown"],
      ["explain", "--error", " "],
      ["explain", "--error"],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("pulldoctor:");
    }
    const empty = await run(["explain", "--error", "-"], "");
    expect(empty.code).toBe(2);
  });
  test("a blob download that cannot connect blames the blob host, not the registry (docker, skopeo)", async () => {
    const docker = "error pulling image configuration: download failed after attempts=6: dial tcp 127.0.0.9:9: connect: connection refused";
    const skopeo =
      'time="2026-11-23T06:46:17Z" level=fatal msg="reading blob sha256:a8c7d4f2862d3c5d77c47c90fddd3672fea83d7619e867ffe31ffc0660796726: Get \\"http://127.0.0.9:9/v2/cdnblocked/app/blobs/sha256:a8c7d4f2862d3c5d77c47c90fddd3672fea83d7619e867ffe31ffc0660796726\\": dial tcp 127.0.0.9:9: connect: connection refused"';
    for (const [text, client] of [
      [docker, "docker"],
      [skopeo, "podman"],
    ] as const) {
      const j = await run(["explain", "--error", text, "--json"]);
      expect(j.code).toBe(0);
      const o = JSON.parse(j.stdout);
      expect(validate(o)).toBe(true);
      expect(o.client.name).toBe(client);
      expect(o.codes[0].code).toBe("BLOB_REDIRECT_UNREACHABLE");
      // 127.0.0.9:9 is where the blob was redirected: it is not the registry to check.
      expect(o.registry).toBeNull();
      expect(o.command).not.toContain("127.0.0.9");
    }
  });
  test("why quotes the wording the text holds (an IP address without IP SANs)", async () => {
    const r = await run([
      "explain",
      "--error",
      'Error response from daemon: Get "https://10.0.0.5:5000/v2/": tls: failed to verify certificate: x509: cannot validate certificate for 10.0.0.5 because it doesn\'t contain any IP SANs',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("TLS_HOSTNAME_MISMATCH");
    expect(r.stdout).toContain('why: "x509: cannot validate certificate for … because it doesn\'t contain any IP SANs"');
    expect(r.stdout).not.toContain("certificate is valid for");
  });
  test("--help names it", async () => {
    const r = await run(["--help"]);
    expect(r.stdout).toContain("explain --error TEXT|-");
  });
});

describe("fresh texts from the real clients still match (wording drift)", () => {
  const live: [PeerClient, Scenario][] = [
    ["ctr", "tag-unknown"],
    ["ctr", "basic-401"],
    ["ctr", "tls-unknown-ca"],
    ["skopeo", "http-over-https"],
    ["skopeo", "platform"],
    ["podman", "nxdomain"],
    ["podman", "short-name"],
    ["docker", "tag-unknown"],
    ["docker", "basic-401"],
  ];
  test("each client prints, the binary reads it back as that client and code", async () => {
    const lab = await startPastedLab({ containerd: true, docker: true });
    try {
      for (const [client, scenario] of live) {
        expect(SCENARIOS[client]).toContain(scenario);
        const rec = (await lab.run(client, scenario))!;
        expect(rec.exitCode).not.toBe(0);
        const r = await run(["explain", "--error", "-", "--json"], rec.text);
        const j = JSON.parse(r.stdout);
        expect({ client, scenario, code: r.code, name: j.client?.name, first: j.codes[0]?.code }).toEqual({
          client,
          scenario,
          code: 0,
          name: EXPECTED_CLIENT[client],
          first: EXPECTED_CODE[scenario],
        });
      }
    } finally {
      await lab.stop();
    }
  }, 300_000);
});
