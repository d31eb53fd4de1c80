import { afterAll, expect, test } from "bun:test";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { freePort } from "../peers/require";

/**
 * A proxy that cannot be reached, judged as each client: the fix edits the environment of the
 * process that pulls (dockerd, podman's own), never another's.
 */
const t = tempDir("pd-proxy-fixes-");
afterAll(() => t.cleanup());

async function fixesOf(code: string, client: string[]) {
  const dead = await freePort();
  const r = await runCli(
    ["check", "registry.example.com/team/app:1.0", "--json", "--timeout", "2", "--daemon-config", "/nonexistent/daemon.json", ...client],
    { home: t.dir, env: { HTTPS_PROXY: `http://127.0.0.1:${dead}` } },
  );
  const report = JSON.parse(r.stdout);
  const f = report.findings.find((x: { code: string }) => x.code === code);
  expect(f).toBeDefined();
  return (f.fixes as string[]).join("\n");
}

// containerd's own unit (where a shell's proxy does not reach it): proxy-unit-route.test.ts.
test("PROXY_UNREACHABLE: docker's fix is dockerd's drop-in; podman's its environment", async () => {
  const docker = await fixesOf("PROXY_UNREACHABLE", ["--client", "docker", "--docker-store", "classic"]);
  expect(docker).toContain("/etc/systemd/system/docker.service.d/http-proxy.conf");
  expect(docker).toContain("sudo systemctl restart docker");

  const podman = await fixesOf("PROXY_UNREACHABLE", ["--client", "podman"]);
  expect(podman).toContain("in the environment podman runs with");
  expect(podman).not.toMatch(/docker\.service|restart docker|daemon\.json/);
}, 60_000);
