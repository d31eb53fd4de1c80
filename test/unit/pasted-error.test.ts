import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { CLIENT_TEXTS, printedFor } from "../../src/clients/error-texts/index";
import { recognisePastedError } from "../../src/clients/pasted-error";
import { CATALOGUE, type FindingCode } from "../../src/model/catalogue/index";
import { ALSO_FIRST, EXPECTED_CLIENT, EXPECTED_CODE, type PeerClient, type Recording, type Scenario } from "../peers/pasted-errors-lab";

const ROOT = path.resolve(import.meta.dir, "../..");
const recorded: { recordings: (Recording & { version: string })[] } = JSON.parse(
  readFileSync(path.join(ROOT, "test/vectors/pasted-errors/recorded.json"), "utf8"),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, "docs/pasted-error.schema.json"), "utf8")));
const asJson = (text: string) => ({ schemaVersion: 1, kind: "pasted-error", ...recognisePastedError(text) });

describe("texts recorded from the real clients (test/vectors/pasted-errors/recorded.json)", () => {
  test("the recording covers every client and scenario the lab can produce", () => {
    const seen = new Set(recorded.recordings.map((r) => r.client));
    expect([...seen].sort()).toEqual(["ctr", "docker", "podman", "skopeo"]);
    expect(recorded.recordings.length).toBeGreaterThanOrEqual(30);
  });
  for (const r of recorded.recordings) {
    test(`${r.client} ${r.scenario}: ${EXPECTED_CLIENT[r.client as PeerClient]}, ${EXPECTED_CODE[r.scenario as Scenario]} first`, () => {
      const p = recognisePastedError(r.text);
      expect(p.recognised).toBe(true);
      expect(p.client?.name).toBe(EXPECTED_CLIENT[r.client as PeerClient] as never);
      const expected = EXPECTED_CODE[r.scenario as Scenario];
      expect(p.codes.map((c) => c.code)).toContain(expected as never);
      expect([expected, ...(ALSO_FIRST[`${r.client as PeerClient}/${r.scenario as Scenario}`] ?? [])]).toContain(p.codes[0]!.code);
      expect(p.codes[0]?.why.length).toBeGreaterThan(0);
      expect(p.command).toStartWith(`pulldoctor check `);
      expect(p.command).toContain(`--client ${EXPECTED_CLIENT[r.client as PeerClient]}`);
      expect(validate(asJson(r.text))).toBe(true);
    });
  }
  test("the image is found and normalised where the client names it", () => {
    const r = recorded.recordings.find((x) => x.client === "skopeo" && x.scenario === "tag-unknown")!;
    const p = recognisePastedError(r.text);
    expect(p.image?.repository).toBe("team/app");
    expect(p.image?.tag).toBe("nope");
    expect(p.command).toBe(`pulldoctor check ${p.image!.familiar} --client podman`);
  });
});

describe("each client's error texts (src/clients/error-texts/)", () => {
  const ofClient: Record<string, PeerClient[]> = { docker: ["docker"], containerd: ["ctr"], podman: ["podman", "skopeo"], kubelet: [] };
  for (const c of CLIENT_TEXTS)
    for (const t of c.texts.filter((x) => x.example)) {
      test(`${c.client} ${t.code}: its example is recognised as ${c.client} with ${t.code}`, () => {
        const p = recognisePastedError(t.example!);
        expect(p.recognised).toBe(true);
        expect(p.client?.name).toBe(c.client);
        expect(p.codes.map((x) => x.code)).toContain(t.code);
      });
      if (t.origin === "recorded")
        test(`${c.client} ${t.code}: a text marked recorded matches a real recording of that client`, () => {
          const texts = recorded.recordings.filter((r) => ofClient[c.client]!.includes(r.client)).map((r) => r.text);
          expect(texts.some((x) => t.pattern.test(x.replace(/\\"/g, '"')))).toBe(true);
        });
    }
  test("explain CODE's rows: each client's line is read back as that client with that code", () => {
    for (const code of Object.keys(CATALOGUE) as FindingCode[])
      for (const row of printedFor(code)) {
        const p = recognisePastedError(row.example);
        expect({ code, client: p.client?.name, has: p.codes.some((c) => c.code === code) }).toEqual({
          code,
          client: row.client,
          has: true,
        });
      }
    expect(printedFor("MANIFEST_UNKNOWN").map((r) => r.client)).toEqual(["docker", "containerd", "kubelet", "podman"]);
  });
  test("every text cites the upstream source that prints it", () => {
    for (const c of CLIENT_TEXTS) for (const x of [...c.texts, ...c.markers]) expect(x.source).toMatch(/[\w-]+\/[\w.-]+(:|#)|shared\//);
  });
});

describe("versions whose wording differs", () => {
  test("kubelet 1.32+ carries the error in the back-off message; before, only the image", () => {
    const newer = recognisePastedError(
      'Back-off pulling image "registry.example.com/team/app:1.0": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/team/app:1.0": failed to resolve image: registry.example.com/team/app:1.0: not found',
    );
    expect(newer.client?.name).toBe("kubelet");
    expect(newer.client?.versions).toContain("kubelet 1.32+");
    expect(newer.client?.versions).toContain("containerd 2.1+ (CRI through the transfer service)");
    expect(newer.codes[0]?.code).toBe("MANIFEST_UNKNOWN");
    const older = recognisePastedError('Back-off pulling image "registry.example.com/team/app:1.0"');
    expect(older.recognised).toBe(true);
    expect(older.client?.versions).toContain("kubelet before 1.32, or a BackOff event (the error is in the Failed event)");
    expect(older.codes).toEqual([]);
    expect(older.command).toBe("pulldoctor check registry.example.com/team/app:1.0 --client kubelet");
  });
  test("kubectl describe pod: the Failed event gives the code, the image comes from it", () => {
    const describe = [
      "Containers:",
      "  web:",
      "    Image:          registry.example.com/team/web:2.3",
      "    State:          Waiting",
      "      Reason:       ImagePullBackOff",
      "Events:",
      "  Type     Reason     Age                From     Message",
      "  ----     ------     ----               ----     -------",
      '  Normal   Pulling    45s (x4 over 2m)   kubelet  Pulling image "registry.example.com/team/web:2.3"',
      '  Warning  Failed     45s (x4 over 2m)   kubelet  Failed to pull image "registry.example.com/team/web:2.3": failed to pull and unpack image "registry.example.com/team/web:2.3": failed to resolve reference "registry.example.com/team/web:2.3": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://registry.example.com/token?scope=repository%3Ateam%2Fweb%3Apull&service=registry.example.com: 401 Unauthorized',
      "  Warning  Failed     45s (x4 over 2m)   kubelet  Error: ErrImagePull",
      '  Normal   BackOff    5s (x6 over 2m)    kubelet  Back-off pulling image "registry.example.com/team/web:2.3"',
    ].join("\n");
    const p = recognisePastedError(describe);
    expect(p.client).toMatchObject({ name: "kubelet", runtime: "containerd" });
    expect(p.codes[0]?.code).toBe("AUTH_CREDENTIALS_REQUIRED");
    expect(p.command).toBe("pulldoctor check registry.example.com/team/web:2.3 --client kubelet");
  });
  test("the waiting message from kubectl get pod -o json (quotes escaped)", () => {
    const p = recognisePastedError(
      '"message": "rpc error: code = Unknown desc = failed to pull and unpack image \\"docker.io/library/redis:7\\": failed to resolve reference \\"docker.io/library/redis:7\\": failed to do request: Head \\"https://registry-1.docker.io/v2/library/redis/manifests/7\\": dial tcp 54.1.2.3:443: i/o timeout", "reason": "ErrImagePull"',
    );
    expect(p.client?.name).toBe("kubelet");
    expect(p.codes[0]?.code).toBe("CONNECT_TIMEOUT");
    expect(p.image?.canonical).toBe("docker.io/library/redis:7");
  });
  test("containerd 1.6 and 1.7+ word a 401 differently; both are AUTH_CREDENTIALS_REQUIRED", () => {
    const v16 = recognisePastedError(
      'ctr: failed to resolve reference "r.example/a:1": pulling from host r.example failed with status code [manifests 1]: 401 Unauthorized',
    );
    const v17 = recognisePastedError(
      'ctr: failed to resolve reference "r.example/a:1": unexpected status from HEAD request to https://r.example/v2/a/manifests/1: 401 Unauthorized',
    );
    expect(v16.client?.versions).toContain("containerd ≤ 1.6");
    expect(v17.client?.versions).toContain("containerd 1.7+");
    for (const p of [v16, v17]) expect(p.codes[0]?.code).toBe("AUTH_CREDENTIALS_REQUIRED");
  });
  test("Docker 29's containerd store wraps containerd's words: docker, containerd store", () => {
    const p = recognisePastedError(
      'Error response from daemon: failed to resolve reference "docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found',
    );
    expect(p.client).toMatchObject({ name: "docker", store: "containerd" });
    expect(p.command).toBe("pulldoctor check nginx:nope --client docker --docker-store containerd");
  });
  test("docker compose pull, crictl, and kubelet on CRI-O", () => {
    const compose = recognisePastedError(
      " ✘ web Error pull access denied for team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied    4.0s\nError response from daemon: pull access denied for team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    );
    expect(compose.client).toMatchObject({ name: "docker", tool: "docker compose" });
    expect(compose.codes[0]?.code).toBe("AUTH_DENIED");
    const crictl = recognisePastedError(
      'FATA[0002] pulling image: rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/redis:7": failed to resolve reference "docker.io/library/redis:7": failed to do request: Head "https://registry-1.docker.io/v2/library/redis/manifests/7": dial tcp 54.0.0.1:443: i/o timeout',
    );
    expect(crictl.client).toMatchObject({ name: "containerd", tool: "crictl" });
    expect(crictl.codes[0]?.code).toBe("CONNECT_TIMEOUT");
    const crio = recognisePastedError(
      'Warning  Failed  12s  kubelet  Failed to pull image "quay.io/team/app:1.0": rpc error: code = Unknown desc = reading manifest 1.0 in quay.io/team/app: manifest unknown',
    );
    expect(crio.client).toMatchObject({ name: "kubelet", runtime: "cri-o" });
    expect(crio.codes[0]?.code).toBe("MANIFEST_UNKNOWN");
  });
  test("x509 with Go 1.20+'s prefix, rate limits and a platform miss", () => {
    expect(
      recognisePastedError(
        'Error response from daemon: Get "https://r.example/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      ).codes[0]?.code,
    ).toBe("TLS_UNKNOWN_CA");
    expect(recognisePastedError("Error response from daemon: toomanyrequests: You have reached your pull rate limit.").codes[0]?.code).toBe(
      "RATE_LIMITED",
    );
    const plat = recognisePastedError("no matching manifest for linux/arm64/v8 in the manifest list entries");
    expect(plat.codes[0]?.code).toBe("PLATFORM_UNAVAILABLE");
    expect(plat.platform).toBe("linux/arm64/v8");
  });
});

test("a bare Go error is a pull's when it names a registry's /v2/ API: the client is unknown, so --client all", () => {
  const p = recognisePastedError('Get "https://registry.example.com/v2/": x509: certificate signed by unknown authority');
  expect(p.recognised).toBe(true);
  expect(p.client).toBeNull();
  expect(p.codes[0]?.code).toBe("TLS_UNKNOWN_CA");
  expect(p.command).toBe("pulldoctor check registry.example.com/REPOSITORY:TAG --client all");
  expect(
    recognisePastedError('Get "https://10.0.0.1:6443/api?timeout=32s": dial tcp 10.0.0.1:6443: connect: connection refused').recognised,
  ).toBe(false);
});

describe("texts that are not pull errors (exit 1)", () => {
  const notPull: [string, string][] = [
    ["a build error", 'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2'],
    ["an API-server error", 'Error from server (NotFound): pods "web-7d9f8c6b5-4xkz2" not found'],
    ["an API server that does not answer", "Unable to connect to the server: dial tcp 10.96.0.1:443: connect: connection refused"],
    ["an OOM kill", "Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    137"],
    ["a crash loop", "Warning  BackOff  2m  kubelet  Back-off restarting failed container app in pod web"],
    ["a shell error", "bash: foo: command not found"],
  ];
  for (const [what, text] of notPull)
    test(what, () => {
      const p = recognisePastedError(text);
      expect(p.recognised).toBe(false);
      expect(p.notPullError).toBeTruthy();
      expect(p.command).toBeNull();
      expect(validate(asJson(text))).toBe(true);
    });
});
