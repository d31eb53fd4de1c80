import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { givenSecrets, secretsForImage, unusedSecrets } from "../../../src/clients/pod-secrets";
import { tempDir } from "../../helpers/context";

const t = tempDir("pd-pod-secrets-");
afterAll(() => t.cleanup());

function file(name: string, text: string): string {
  const p = path.join(t.dir, name);
  writeFileSync(p, text);
  return p;
}

const secret = (name: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{"auths":{}}'\n`;

test("each image gets the Secrets its pod names, in the pod's order, plus the bare configs; names with no file are missing", () => {
  const a = file("a.yaml", secret("a"));
  const b = file(
    "b.json",
    JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "b" }, type: "kubernetes.io/dockerconfigjson" }),
  );
  const bare = file("config.json", JSON.stringify({ auths: {} }));
  const broken = file("broken.yaml", "{ not: [yaml");
  const given = givenSecrets([a, b, bare, broken, path.join(t.dir, "absent.yaml")]);
  expect(given.map((g) => g.name)).toEqual(["a", "b", null, null, null]);
  expect(secretsForImage(given, ["b", "nope", "a"])).toEqual({
    files: [b, a, bare, broken, path.join(t.dir, "absent.yaml")],
    missing: ["nope"],
  });
  expect(secretsForImage(given, []).files).toEqual([bare, broken, path.join(t.dir, "absent.yaml")]);
  // An image typed on the command line has no pod: every file, as a single check.
  expect(secretsForImage(given, null).files).toEqual([a, b, bare, broken, path.join(t.dir, "absent.yaml")]);
  expect(unusedSecrets(given, [["a"], []]).map((g) => g.name)).toEqual(["b"]);
  expect(unusedSecrets(given, [["a"], null])).toEqual([]);
});
