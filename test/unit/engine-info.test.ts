import { afterAll, expect, test } from "bun:test";
import http from "node:http";
import path from "node:path";
import { fetchEngineInfo } from "../../src/host/engine-info";
import { tempDir } from "../helpers/context";

const dir = tempDir("pd-engine-info-");
afterAll(() => dir.cleanup());

test("no socket file: ENOENT at once, as the request would end", async () => {
  const sock = path.join(dir.dir, "absent.sock");
  const r = await fetchEngineInfo(sock, `unix://${sock}`, { timeoutMs: 2000 });
  expect(r).toMatchObject({ ok: false, error: `ENOENT ${sock}`, source: `unix://${sock}` });
  expect(r.durationMs).toBeLessThan(10);
});

test("a socket that answers: GET /info is read", async () => {
  const sock = path.join(dir.dir, "docker.sock");
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        ServerVersion: "27.0.0",
        OperatingSystem: req.url === "/info" ? "Debian" : "?",
        RegistryConfig: { Mirrors: ["https://m.example"] },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(sock, () => r()));
  try {
    const r = await fetchEngineInfo(sock, `unix://${sock}`, { timeoutMs: 2000 });
    expect(r).toMatchObject({ ok: true, error: null, serverVersion: "27.0.0", operatingSystem: "Debian", mirrors: ["https://m.example"] });
  } finally {
    server.close();
  }
});
