import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage, buildIndex } from "../../src/lab/image";
import { tempDir } from "../helpers/context";
import { issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { type ContainerdPeer, startContainerd } from "./containerd";
import { type DockerdPeer, startDockerd } from "./dockerd";
import { startRegistry } from "./registry";
import { freePort, requireBinary } from "./require";
import { startTokenServer, type TokenServer } from "./token-server";

/**
 * The servers and real clients that produce the pasted-error vectors
 * (test/vectors/pasted-errors/recorded.json, written by scripts/record-pasted-errors.ts):
 * a plain-HTTP docker-registry with an amd64-only index, one with htpasswd, one with TLS from
 * a CA nobody trusts, a port where nothing listens, and a name that does not resolve.
 */
export type PeerClient = "ctr" | "skopeo" | "podman" | "docker";
export type Scenario =
  | "tag-unknown"
  | "repo-unknown"
  | "basic-401"
  | "token-401"
  | "token-denied"
  | "tls-unknown-ca"
  | "http-over-https"
  | "nxdomain"
  | "refused"
  | "platform"
  | "short-name";

/** The code explain --error must put first for each scenario (SPEC "Pasted errors"). */
export const EXPECTED_CODE: Record<Scenario, string> = {
  "tag-unknown": "MANIFEST_UNKNOWN",
  "repo-unknown": "MANIFEST_UNKNOWN",
  "basic-401": "AUTH_CREDENTIALS_REQUIRED",
  "token-401": "AUTH_CREDENTIALS_REQUIRED",
  "token-denied": "AUTH_DENIED",
  "tls-unknown-ca": "TLS_UNKNOWN_CA",
  "http-over-https": "TLS_HTTP_ONLY",
  nxdomain: "DNS_NXDOMAIN",
  refused: "CONNECT_REFUSED",
  platform: "PLATFORM_UNAVAILABLE",
  "short-name": "SHORT_NAME_UNRESOLVED",
};

/**
 * Where a client's text cannot tell two codes apart, either may come first (the expected code is
 * still among them): containers/image says "invalid username/password" for a token server's 401
 * whether or not it sent credentials.
 */
export const ALSO_FIRST: Partial<Record<`${PeerClient}/${Scenario}`, string[]>> = {
  "podman/token-401": ["AUTH_UNAUTHORIZED"],
  "skopeo/token-401": ["AUTH_UNAUTHORIZED"],
};

/** Which client name explain --error must give for each real client. */
export const EXPECTED_CLIENT: Record<PeerClient, string> = { ctr: "containerd", skopeo: "podman", podman: "podman", docker: "docker" };

export interface Recording {
  client: PeerClient;
  scenario: Scenario;
  /** The command as run, with the lab's temp paths replaced by placeholders. */
  command: string;
  exitCode: number;
  /** What the client printed on stderr (stdout when stderr was empty), as a user would paste it. */
  text: string;
}

export interface PastedLab {
  images: Record<Scenario, string>;
  run(client: PeerClient, scenario: Scenario): Promise<Recording | null>;
  stop(): Promise<void>;
}

/** Which scenarios a client can show on loopback (dockerd treats 127.0.0.0/8 as insecure: no TLS errors there). */
export const SCENARIOS: Record<PeerClient, Scenario[]> = {
  ctr: [
    "tag-unknown",
    "repo-unknown",
    "basic-401",
    "token-401",
    "token-denied",
    "tls-unknown-ca",
    "http-over-https",
    "nxdomain",
    "refused",
    "platform",
  ],
  skopeo: [
    "tag-unknown",
    "repo-unknown",
    "basic-401",
    "token-401",
    "token-denied",
    "tls-unknown-ca",
    "http-over-https",
    "nxdomain",
    "refused",
    "platform",
  ],
  podman: [
    "tag-unknown",
    "repo-unknown",
    "basic-401",
    "token-401",
    "token-denied",
    "tls-unknown-ca",
    "http-over-https",
    "nxdomain",
    "refused",
    "platform",
    "short-name",
  ],
  docker: ["tag-unknown", "repo-unknown", "basic-401", "token-401", "token-denied", "nxdomain", "refused", "platform"],
};

export async function startPastedLab(opts: { docker: boolean; containerd: boolean }): Promise<PastedLab> {
  const t = tempDir("pd-pasted-");
  const ca = makeCA("pulldoctor pasted-errors CA");
  const cert = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
  const plain = await startRegistry();
  const basic = await startRegistry({ htpasswd: { alice: "s3cret-pasted" } });
  // Token auth: one token server refuses anonymous requests, the other grants anonymous nothing.
  const refusing = await startTokenServer({ refuseAnonymous: true });
  const granting = await startTokenServer({ grants: { "": {} } });
  const tokenReg = (t: TokenServer) =>
    startRegistry({ token: { realm: t.realm, service: t.service, issuer: t.issuer, rootCertBundle: t.rootCertBundle } });
  const token401 = await tokenReg(refusing);
  const tokenDenied = await tokenReg(granting);
  const tls = await startRegistry({ tls: { certificate: cert.certFile, key: cert.keyFile } });
  const amd64 = buildImage({ label: "pasted" });
  await pushImage(plain.url, "team/app", "1.0", buildIndex([amd64]));
  await pushImage(tls.url, "team/app", "1.0", amd64);
  const refusedPort = await freePort();
  const peers: { ctd: ContainerdPeer | null; dkr: DockerdPeer | null } = { ctd: null, dkr: null };
  if (opts.containerd) peers.ctd = await startContainerd();
  if (opts.docker) peers.dkr = await startDockerd();
  const conf = path.join(t.dir, "registries.conf");
  writeFileSync(conf, 'unqualified-search-registries = []\nshort-name-mode = "enforcing"\n');
  const authfile = path.join(t.dir, "auth.json");
  writeFileSync(authfile, '{"auths":{}}\n');
  const images: Record<Scenario, string> = {
    "tag-unknown": `${plain.host}/team/app:nope`,
    "repo-unknown": `${plain.host}/nosuch/repo:1.0`,
    "basic-401": `${basic.host}/team/app:1.0`,
    "token-401": `${token401.host}/team/app:1.0`,
    "token-denied": `${tokenDenied.host}/team/app:1.0`,
    "tls-unknown-ca": `${tls.host}/team/app:1.0`,
    "http-over-https": `${plain.host}/team/app:1.0`,
    nxdomain: "registry.pd.invalid/team/app:1.0",
    refused: `127.0.0.1:${refusedPort}/team/app:1.0`,
    platform: `${plain.host}/team/app:1.0`,
    "short-name": "pdapp:1.0",
  };
  // Plain HTTP is asked for where the scenario is not about TLS, as a user of that registry would.
  const plainHttp = (s: Scenario) => !["tls-unknown-ca", "http-over-https", "nxdomain"].includes(s);
  const arm = (s: Scenario) => s === "platform";
  const placeholders = (cmd: string[]) =>
    [path.basename(cmd[0]!), ...cmd.slice(1)]
      .join(" ")
      .replaceAll(peers.ctd?.socket ?? "\0", "$SOCK")
      .replaceAll(peers.dkr?.host ?? "\0", "unix://$SOCK")
      .replaceAll(t.dir, "$TMP");

  const argv = (client: PeerClient, s: Scenario): string[] => {
    const image = images[s];
    switch (client) {
      case "ctr":
        // ctr 1.6 speaks plain HTTP to 127.0.0.1:PORT on its own; a hosts.toml naming an https://
        // server is how a user gets TLS there (and so these two TLS errors).
        return [
          requireBinary("ctr", "containerd"),
          "--address",
          peers.ctd!.socket,
          "images",
          "pull",
          ...(plainHttp(s) ? ["--plain-http"] : []),
          ...(s === "tls-unknown-ca" || s === "http-over-https" ? ["--hosts-dir", httpsHostsDir(images[s])] : []),
          ...(arm(s) ? ["--platform", "linux/arm64"] : []),
          image,
        ];
      case "skopeo": {
        const dest = path.join(t.dir, `skopeo-${s}`);
        return [
          requireBinary("skopeo", "skopeo"),
          "--registries-conf",
          conf,
          ...(arm(s) ? ["--override-arch", "arm64"] : []),
          "copy",
          "--authfile",
          authfile,
          ...(plainHttp(s) ? ["--src-tls-verify=false"] : []),
          `docker://${image}`,
          `oci:${dest}`,
        ];
      }
      case "podman":
        return [
          requireBinary("podman", "podman"),
          "--root",
          path.join(t.dir, "podman-root"),
          "--runroot",
          path.join(t.dir, "podman-run"),
          "--storage-driver",
          "vfs",
          "pull",
          "--authfile",
          authfile,
          ...(plainHttp(s) ? ["--tls-verify=false"] : []),
          ...(arm(s) ? ["--arch", "arm64"] : []),
          image,
        ];
      case "docker":
        return [
          requireBinary("docker", "docker.io"),
          "-H",
          peers.dkr!.host,
          "pull",
          ...(arm(s) ? ["--platform", "linux/arm64"] : []),
          image,
        ];
    }
  };

  const httpsHostsDir = (image: string): string => {
    const host = image.split("/")[0]!;
    const root = path.join(t.dir, `hosts-${host.replace(/:/g, "_")}`);
    mkdirSync(path.join(root, host), { recursive: true });
    writeFileSync(path.join(root, host, "hosts.toml"), `server = "https://${host}"\n\n[host."https://${host}"]\n`);
    return root;
  };
  mkdirSync(path.join(t.dir, "home"), { recursive: true });
  return {
    images,
    async run(client, s) {
      if (!SCENARIOS[client].includes(s)) return null;
      const cmd = argv(client, s);
      const p = Bun.spawn(cmd, {
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: path.join(t.dir, "home"),
          CONTAINERS_REGISTRIES_CONF: conf,
          REGISTRY_AUTH_FILE: authfile,
        },
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      clearTimeout(timer);
      // A temp path in a message (podman names its registries.conf) is not part of what users see.
      const text = (err.trim() ? err : out).trim().replaceAll(t.dir, "$TMP");
      return { client, scenario: s, command: placeholders(cmd), exitCode: code, text };
    },
    async stop() {
      await peers.dkr?.stop();
      await peers.ctd?.stop();
      await Promise.all([plain.stop(), basic.stop(), tls.stop(), token401.stop(), tokenDenied.stop(), refusing.stop(), granting.stop()]);
      ca.cleanup();
      t.cleanup();
    },
  };
}
