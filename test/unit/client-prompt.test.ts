import { expect, test } from "bun:test";
import type { RunResult } from "../../src/doctor/run";
import type { JudgedClient } from "../../src/model/facts";
import type { Report } from "../../src/model/report";
import { askClient } from "../../src/ui/client-prompt";
import { glyphs } from "../../src/ui/glyphs";
import { summaryBlock } from "../../src/ui/plain";
import { makeStyle } from "../../src/ui/style";
import { testOptions } from "../helpers/context";
import { promptStreams, waitForScreen } from "../helpers/prompt-streams";

const client = (unsure: boolean): JudgedClient =>
  ({
    name: "docker",
    store: "containerd",
    label: "docker (containerd store)",
    basedOn: "no client found on this host: docker with the containerd store (Docker 29's default)",
    unsure,
    all: null,
  }) as unknown as JudgedClient;
const runWith = (c: JudgedClient) => ({ localFacts: { client: c } }) as unknown as RunResult;

test("auto-detection unsure: the interactive doctor asks whose pull to judge; the answer replaces auto", async () => {
  const io = promptStreams();
  const answer = askClient(runWith(client(true)), testOptions({ client: "auto", dockerStore: null }), {
    st: makeStyle(false),
    unicode: true,
    streams: { input: io.input, output: io.output },
  });
  await waitForScreen(io.screen, "Which one will pull the image?");
  expect(io.screen()).toContain("No client found on this host (no client found on this host: docker with the containerd store");
  expect(io.screen()).toContain("Kubernetes (kubelet)");
  io.press("down");
  io.press("down");
  io.press("return");
  expect(await answer).toMatchObject({ client: "containerd", dockerStore: null });
});

test("Escape cancels; a sure detection or a named --client is never asked about", async () => {
  const io = promptStreams();
  const look = { st: makeStyle(false), unicode: false, streams: { input: io.input, output: io.output } };
  const answer = askClient(runWith(client(true)), testOptions({ client: "auto", dockerStore: null }), look);
  await waitForScreen(io.screen, "Which one will pull the image?");
  io.press("escape");
  expect(await answer).toBe("cancel");
  expect(await askClient(runWith(client(false)), testOptions({ client: "auto" }), look)).toBeNull();
  expect(await askClient(runWith(client(true)), testOptions({ client: "podman" }), look)).toBeNull();
});

test("--client all: the summary block (plain output and the interactive doctor's Result note) ends with one line per client", () => {
  const report = {
    image: { canonical: "127.0.0.1:5000/team/app:1.0" },
    input: { image: "127.0.0.1:5000/team/app:1.0", platform: "linux/amd64" },
    stages: [],
    findings: [],
    pull: null,
    verdict: { ok: true, code: null, summary: "The pull should succeed." },
    clients: [
      { name: "docker", store: "classic", verdict: { ok: false, code: "AUTH_NOT_SENT", summary: "…" } },
      { name: "containerd", store: null, verdict: { ok: true, code: null, summary: "…" } },
    ],
  } as unknown as Report;
  const lines = summaryBlock(report, makeStyle(false), glyphs(false)).trimEnd().split("\n");
  expect(lines.slice(-2).map((l) => l.replace(/\s+/g, " "))).toEqual([
    " [XX] docker (classic store) fails: AUTH_NOT_SENT",
    " [ok] containerd should succeed",
  ]);
});
