import { describe, expect, test } from "bun:test";
import type { RunResult } from "../../src/doctor/run";
import { finding } from "../../src/model/finding";
import { newestFirst, tagsToName } from "../../src/registry/manifest-tags";
import { testOptions } from "../helpers/context";
import { askRemedy, waitForScreen } from "../helpers/prompt-streams";

describe("the tags MANIFEST_UNKNOWN names", () => {
  test("newest first by version order: numbers compared as numbers, the plain tag before its variants, names last", () => {
    const tags = ["latest", "1.9", "1.10", "1.2", "1.2.1", "2.0-alpine", "2.0", "v3.1", "edge", "20240101"];
    expect([...tags].sort(newestFirst)).toEqual(["20240101", "v3.1", "2.0", "2.0-alpine", "1.10", "1.9", "1.2.1", "1.2", "edge", "latest"]);
  });
  test("all of them when there are 10 or fewer; else the newest 10", () => {
    expect(tagsToName(["1.0"])).toEqual(["1.0"]);
    const ten = Array.from({ length: 10 }, (_, i) => `1.${i}`);
    expect(tagsToName(ten)).toEqual([...ten].reverse());
    const many = Array.from({ length: 25 }, (_, i) => `1.${i}`);
    expect(tagsToName(many)).toEqual(Array.from({ length: 10 }, (_, i) => `1.${24 - i}`));
  });
  const params = (tags: string[], count: number, closestTags: string[] = []) => ({
    image: "r.example/team/app:latest",
    registry: "r.example",
    repository: "team/app",
    reference: "latest",
    closestTags,
    tags,
    tagsListed: true,
    tagCount: count,
  });
  test("the detail names them, with the count", () => {
    expect(finding("MANIFEST_UNKNOWN", params(["1.0"], 1)).detail).toBe(
      "r.example/team/app:latest: the registry has no manifest latest in team/app (it has 1 tag: 1.0)",
    );
    expect(finding("MANIFEST_UNKNOWN", params(["2.0", "1.1", "1.0"], 3, ["1.1"])).detail).toContain(
      "(it has 3 tags: 2.0, 1.1, 1.0; closest: 1.1)",
    );
    const newest = Array.from({ length: 10 }, (_, i) => `1.${24 - i}`);
    expect(finding("MANIFEST_UNKNOWN", params(newest, 25)).detail).toContain(`(it has 25 tags; the newest 10: ${newest.join(", ")})`);
    expect(finding("MANIFEST_UNKNOWN", params([], 0)).detail).toContain("(it has 0 tags)");
  });
});

describe("the tag remedy's prompt, driven through its input and output streams", () => {
  const run = { localFacts: { ref: { registry: "r.example", repository: "team/app" } } } as unknown as RunResult;
  const missing = (closestTags: string[], tags: string[]) =>
    finding(
      "MANIFEST_UNKNOWN",
      {
        image: "r.example/team/app:latest",
        registry: "r.example",
        repository: "team/app",
        reference: "latest",
        closestTags,
        tags,
        tagsListed: true,
        tagCount: tags.length,
      },
      { closestTags, tags },
    );
  const ask = (f: ReturnType<typeof missing>) => askRemedy(f, run, testOptions({ image: "r.example/team/app:latest" }));

  test("latest is missing while versions exist: the tags are offered beside 'Type another tag'; choosing one re-checks it", async () => {
    const p = ask(missing([], ["1.2", "1.1", "1.0"]));
    await waitForScreen(p.screen, "No, leave it");
    const screen = p.screen();
    expect(screen).toContain("The tag does not exist. Use one of the repository's tags?");
    for (const t of ["1.2", "1.1", "1.0", "Type another tag", "No, leave it"]) expect(screen).toContain(t);
    expect(screen.indexOf("1.2")).toBeLessThan(screen.indexOf("Type another tag"));
    p.press("down");
    p.enter();
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { image: "r.example/team/app:1.1" }, from: null });
  });

  test("the closest tags come first, then the others, none twice", async () => {
    const p = ask(missing(["1.1"], ["1.2", "1.1", "1.0"]));
    await waitForScreen(p.screen, "No, leave it");
    const screen = p.screen();
    expect(screen).toContain("Use one of the closest existing tags?");
    expect(screen.match(/1\.1/g)!.length).toBe(1);
    expect(screen.indexOf("1.1 (closest)")).toBeLessThan(screen.indexOf("1.2"));
    p.enter();
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { image: "r.example/team/app:1.1" } });
  });

  test("'Type another tag' asks for it, refuses an invalid one, and re-checks the typed tag", async () => {
    const p = ask(missing([], ["1.0"]));
    await waitForScreen(p.screen, "No, leave it");
    p.press("down");
    p.enter();
    await waitForScreen(p.screen, "Tag");
    p.enter("-bad");
    await waitForScreen(p.screen, "does not start with . or -");
    p.erase(4);
    p.enter("2.0");
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { image: "r.example/team/app:2.0" } });
  });

  test("'No, leave it' re-runs nothing; Escape cancels", async () => {
    const p = ask(missing([], ["1.0"]));
    await waitForScreen(p.screen, "No, leave it");
    p.press("up");
    p.enter();
    expect(await p.answer).toEqual({ kind: "none" });
    const q = ask(missing([], ["1.0"]));
    await waitForScreen(q.screen, "No, leave it");
    q.press("escape");
    expect(await q.answer).toEqual({ kind: "cancel" });
  });
});
