import { expect, test } from "bun:test";
import { systemLookup } from "../../src/net/dns-system";

test("the system resolver answers localhost from the machine's hosts file (no DNS traffic)", async () => {
  const r = await systemLookup("localhost", { timeoutMs: 2000 });
  expect(r.code).toBeNull();
  expect(r.addresses.some((a) => a.address === "127.0.0.1" || a.address === "::1")).toBe(true);
});

test("a cancelled lookup returns at once with code 'aborted'", async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await systemLookup("registry.pd.invalid", { timeoutMs: 5000, signal: ac.signal });
  expect(r).toMatchObject({ addresses: [], code: "aborted" });
});
