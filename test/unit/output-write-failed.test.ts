import { expect, test } from "bun:test";
import { failed } from "../../src/pull/outputs/write";

/** A write that fails for a reason no space would cure is said as that reason, never PULL_NO_SPACE. */
const err = (code: string, message: string) => Object.assign(new Error(message), { code });

test("EROFS, EACCES and EPERM while writing: the reason and the place, no PULL_NO_SPACE finding", () => {
  for (const [code, says] of [
    ["EROFS", "read-only file system"],
    ["EACCES", "permission denied"],
    ["EPERM", "permission denied"],
  ] as const) {
    const w = failed("oci:/mnt/ro/app", err(code, `${code}: open '/mnt/ro/app/index.json'`), "/mnt/ro/app", { image: "x" }, 3);
    expect(w.finding).toBeUndefined();
    expect(w.error).toBe(`writing oci:/mnt/ro/app failed: /mnt/ro/app cannot be written (${code}: ${says}); choose a writable place`);
    expect(w.evidence).toMatchObject({ code, durationMs: 3 });
  }
});

test("ENOSPC while writing is still PULL_NO_SPACE", () => {
  const w = failed("oci:/tmp/app", err("ENOSPC", "ENOSPC: no space left on device"), "/tmp", { image: "x" }, 1);
  expect(w.finding?.code).toBe("PULL_NO_SPACE");
});
