import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { refCommand } from "../../src/cli/commands/ref";
import { type ClientChoice, defaultOptions } from "../../src/model/options";
import { ReferenceParseError } from "../../src/registry/reference";
import { classifyReferenceError, lowercaseSuggestion, referenceStage } from "../../src/stages/reference";
import { memoryIo } from "../../src/ui/io";
import { tempDir, testContext } from "../helpers/context";

const D = `sha256:${"0".repeat(64)}`;

describe("reference stage", () => {
  test("a short name: provides ref, REF_IMPLICIT_LATEST says how it expanded", async () => {
    const out = await referenceStage.run(testContext({ options: { image: "nginx" } }));
    expect(out.provides?.ref?.canonical).toBe("docker.io/library/nginx:latest");
    expect(out.findings.map((f) => f.code)).toEqual(["REF_IMPLICIT_LATEST"]);
    const f = out.findings[0]!;
    expect(f.severity).toBe("info");
    expect(f.detail).toContain("docker.io/library/nginx:latest");
    expect(f.detail).toContain("library/");
    expect(f.fixes.join("\n")).toContain("@sha256:");
    expect(out.evidence.expansion).toContain("Docker Hub");
  });

  test("a tag or a digest: no finding", async () => {
    for (const image of ["nginx:1.27", `ghcr.io/o/r@${D}`, "localhost:5000/app:dev"]) {
      const out = await referenceStage.run(testContext({ options: { image } }));
      expect(out.findings).toEqual([]);
      expect(out.provides?.ref).toBeDefined();
    }
  });

  test("implicit latest on a private registry: no Docker Hub note", async () => {
    const out = await referenceStage.run(testContext({ options: { image: "localhost:5000/app" } }));
    expect(out.findings[0]!.code).toBe("REF_IMPLICIT_LATEST");
    expect(out.evidence.expansion).toBeNull();
    expect(out.findings[0]!.fixes[0]).toContain("localhost:5000/app:<tag>");
  });

  test("upper case: REF_UPPERCASE with Docker's text and the lower-cased fix", async () => {
    const out = await referenceStage.run(testContext({ options: { image: "ghcr.io/Owner/App:V1" } }));
    expect(out.provides).toBeUndefined();
    const f = out.findings[0]!;
    expect(f.code).toBe("REF_UPPERCASE");
    expect(f.severity).toBe("error");
    expect(f.detail).toBe("repository name (Owner/App) must be lowercase");
    expect(f.fixes[0]).toBe("Use the lower-case reference: pulldoctor check ghcr.io/owner/app:V1");
  });

  test("upper case: the pull fix in the judged client's words when --client names it, neutral before the client is judged", async () => {
    const fixFor = async (client: ClientChoice) => {
      const out = await referenceStage.run(testContext({ options: { image: "ghcr.io/Owner/App:V1", client } }));
      return out.findings[0]!.fixes[1];
    };
    expect(await fixFor("docker")).toBe("docker pull ghcr.io/owner/app:V1");
    expect(await fixFor("containerd")).toBe("ctr images pull ghcr.io/owner/app:V1");
    expect(await fixFor("podman")).toBe("podman pull ghcr.io/owner/app:V1");
    expect(await fixFor("kubelet")).toBe("In the pod spec: image: ghcr.io/owner/app:V1");
    for (const client of ["auto", "all"] as const) expect(await fixFor(client)).toBe("Use the lower-case name: ghcr.io/owner/app:V1");
    // The warning of an upper-case first part (a host to Docker) too.
    const warn = await referenceStage.run(testContext({ options: { image: "MyOrg/app:1.0", client: "podman" } }));
    expect(warn.findings[0]!.fixes[1]).toBe("podman pull myorg/app:1.0");
  });

  test("an upper-case first component is a host to Docker: REF_UPPERCASE as a warning, ref still provided", async () => {
    const out = await referenceStage.run(testContext({ options: { image: "MyOrg/app:1.0" } }));
    expect(out.provides?.ref?.registry).toBe("MyOrg");
    expect(out.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["REF_UPPERCASE:warning"]);
    expect(out.findings[0]!.detail).toContain('takes "MyOrg" as a registry host');
    expect(out.findings[0]!.fixes[0]).toBe("Use the lower-case reference: pulldoctor check myorg/app:1.0");
  });

  test("invalid: REF_INVALID with Docker's message and a hint", async () => {
    const out = await referenceStage.run(testContext({ options: { image: "https://reg.example.com/app" } }));
    const f = out.findings[0]!;
    expect(f.code).toBe("REF_INVALID");
    expect(f.detail).toContain("invalid reference format");
    expect(f.detail).toContain("no URL scheme");
    expect(f.fixes[0]).toBe("Drop the URL scheme: pulldoctor check reg.example.com/app");
  });

  test("classify: every error kind maps to a finding", () => {
    const cases: [string, string, string][] = [
      ["x", "invalid", "REF_INVALID"],
      ["", "empty", "REF_INVALID"],
      ["a".repeat(64), "hex-name", "REF_INVALID"],
      ["n@sha256:1", "digest-length", "REF_INVALID"],
      ["Nginx", "uppercase", "REF_UPPERCASE"],
    ];
    for (const [input, kind, code] of cases) {
      const subject = kind === "uppercase" ? "library/Nginx" : null;
      expect(classifyReferenceError(input, new ReferenceParseError(kind as never, "m", subject)).code).toBe(code as never);
    }
  });

  test("lowercaseSuggestion keeps host case, tag and digest", () => {
    expect(lowercaseSuggestion("Nginx")).toBe("nginx");
    expect(lowercaseSuggestion("MyOrg/App:Tag")).toBe("myorg/app:Tag");
    expect(lowercaseSuggestion(`Reg.Example.com:5000/Team/App@${D}`)).toBe(`Reg.Example.com:5000/team/app@${D}`);
  });
});

describe("pulldoctor ref", () => {
  test("--json prints the normalized fields and exits 0", async () => {
    const io = memoryIo();
    const code = await refCommand(defaultOptions({ command: "ref", image: `index.docker.io/library/redis@${D}`, json: true }), io);
    expect(code).toBe(0);
    expect(JSON.parse(io.out.join(""))).toEqual({
      input: `index.docker.io/library/redis@${D}`,
      registry: "docker.io",
      repository: "library/redis",
      tag: null,
      digest: D,
      canonical: `docker.io/library/redis@${D}`,
      familiar: `redis@${D}`,
    });
  });

  test("a human table without --json", async () => {
    const io = memoryIo();
    expect(await refCommand(defaultOptions({ command: "ref", image: "nginx" }), io)).toBe(0);
    const s = io.out.join("");
    expect(s).toContain("canonical   docker.io/library/nginx:latest");
    expect(s).toContain("familiar    nginx:latest");
    expect(s).toContain("latest");
  });

  test("the table's rows, labels padded to the longest, for Docker Hub and for another registry pinned by digest", async () => {
    const io = memoryIo();
    expect(await refCommand(defaultOptions({ command: "ref", image: "nginx" }), io)).toBe(0);
    expect(io.out.join("").split("\n").slice(0, 8)).toEqual([
      "input       nginx",
      "registry    docker.io  (Docker Hub, API host registry-1.docker.io)",
      "repository  library/nginx",
      "tag         latest",
      "digest      (none)",
      "canonical   docker.io/library/nginx:latest",
      "familiar    nginx:latest",
      "",
    ]);
    const pinned = memoryIo();
    expect(await refCommand(defaultOptions({ command: "ref", image: `registry.example.com:5000/team/app@${D}` }), pinned)).toBe(0);
    expect(pinned.out.join("")).toBe(
      [
        `input       registry.example.com:5000/team/app@${D}`,
        "registry    registry.example.com:5000",
        "repository  team/app",
        "tag         (none: pinned by digest)",
        `digest      ${D}`,
        `canonical   registry.example.com:5000/team/app@${D}`,
        `familiar    registry.example.com:5000/team/app@${D}`,
        "",
      ].join("\n"),
    );
  });

  test("invalid --json: a full report like check, exit 1", async () => {
    const t = tempDir();
    try {
      const io = memoryIo();
      const reportFile = `${t.dir}/r.json`;
      const code = await refCommand(defaultOptions({ command: "ref", image: "Nginx:1", json: true, reportFile }), io);
      expect(code).toBe(1);
      const r = JSON.parse(io.out.join(""));
      expect(r.schemaVersion).toBe(1);
      expect(r.command).toBe("ref");
      expect(r.image).toBeNull();
      expect(r.stages).toHaveLength(1);
      expect(r.stages[0].status).toBe("fail");
      expect(r.findings[0].code).toBe("REF_UPPERCASE");
      expect(r.verdict).toMatchObject({ ok: false, code: "REF_UPPERCASE" });
      expect(JSON.parse(readFileSync(reportFile, "utf8")).verdict.code).toBe("REF_UPPERCASE");
    } finally {
      t.cleanup();
    }
  });

  test("invalid without --json: the error and fixes on stderr, exit 1", async () => {
    const io = memoryIo();
    expect(await refCommand(defaultOptions({ command: "ref", image: "nginx:" }), io)).toBe(1);
    expect(io.err.join("")).toContain("REF_INVALID");
    expect(io.out).toEqual([]);
  });

  test("missing IMAGE: exit 2", async () => {
    const io = memoryIo();
    expect(await refCommand(defaultOptions({ command: "ref", image: null }), io)).toBe(2);
  });
});
