import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import type { ClientWire, Facts, JudgedClient } from "../../src/model/facts";
import { authStage } from "../../src/stages/auth";
import { v2Stage } from "../../src/stages/v2";
import { endpointFor, testContext } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { factsFor, passwordCred } from "./auth-helpers";

/**
 * Which endpoints get the credentials is the judged client's rule (src/net/origin.ts): Docker's
 * containerd store keeps Docker Hub credentials from a mirror, classic Docker and kubelet send them
 * there too. A docker-registry with htpasswd plays the docker.io mirror.
 */
const PW = "reach-Pw+1";
let reg: RegistryPeer;
beforeAll(async () => {
  reg = await startRegistry({ htpasswd: { alice: PW } });
  await pushImage(reg.url, "library/app", "1.0", buildImage({ label: "reach" }), {
    authorization: `Basic ${Buffer.from(`alice:${PW}`).toString("base64")}`,
  });
}, 30_000);
afterAll(() => reg?.stop());

async function authOnMirror(reach: ClientWire["credentialsTo"]) {
  const base = factsFor(reg.url, "library/app");
  const client: JudgedClient = {
    name: "docker",
    store: null,
    label: reach,
    basedOn: "test",
    unsure: false,
    // Only the rule under test; the other behaviour flags are classic Docker's (ping, no 401 retry).
    wire: { label: reach, hosts: null, pingsV2: true, retries401WithCredentials: false, credentialsTo: reach } as ClientWire,
    all: null,
  };
  const cred = passwordCred("alice", PW);
  const facts: Facts = { ...base, ref: { ...base.ref!, registry: "docker.io" }, credential: cred, credentials: [cred], client };
  const ctx = testContext({ endpoint: endpointFor(reg.url, { role: "mirror" }), facts, options: { timeoutMs: 3000 } });
  const v2 = await v2Stage.run(ctx);
  return authStage.run({ ...ctx, facts: { ...facts, ...v2.provides } });
}

describe("credentials on a docker.io mirror, by the judged client's reach", () => {
  test("login-host (Docker's containerd store): the mirror gets none and refuses the anonymous pull", async () => {
    const out = await authOnMirror("login-host");
    expect(out.evidence.credential).toBeNull();
    expect(out.findings.map((f) => f.code)).toContain("AUTH_CREDENTIALS_REQUIRED");
    expect(out.provides?.credential ?? null).toBeNull();
  });

  test.each(["registry", "every-host"] as const)("%s: the mirror gets the credentials and accepts them", async (reach) => {
    const out = await authOnMirror(reach);
    expect(out.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(out.evidence.credential).toMatchObject({ username: "alice" });
    // kubelet's rule: the evidence says which hosts other than the registry saw the credentials.
    expect(out.evidence.credentialsAlsoSentTo ?? null).toEqual(
      reach === "every-host" ? { hosts: [reg.host], why: expect.any(String) } : null,
    );
  });
});
