import { hostPlatform } from "../model/deps";
import type { Platform } from "../model/facts";
import { buildImage, buildIndex, noise } from "./image";
import type { LabRegistry } from "./server";
import { startWire } from "./wire";

/**
 * The demo's repositories: one healthy, one per common failure. Each names the finding
 * the doctor should report, so `demo --tour` and the tests can check it does.
 */
export interface Scenario {
  id: string;
  /** Full reference to pass to pulldoctor: 127.0.0.1:PORT/demo/app:1.O */
  image: string;
  title: string;
  /** The error/warning code the doctor should report; null for the healthy one. */
  expect: string | null;
  /** One sentence for the demo listing: what is broken and what to try. */
  hint: string;
}

export const DEMO_USER = { username: "demo", password: "s3cret-demo" };
/** Loopback port 9 (discard) is closed: connections are refused, like a CDN a firewall blocks. */
export const UNREACHABLE_BLOB_HOST = "http://127.0.0.9:9";

export function otherPlatforms(host: Platform): Platform[] {
  const all: Platform[] = [
    { os: "linux", architecture: "arm64", variant: "v8" },
    { os: "linux", architecture: "s390x" },
    { os: "linux", architecture: "ppc64le" },
  ];
  return all.filter((p) => p.architecture !== host.architecture).slice(0, 2);
}

export async function installScenarios(lab: LabRegistry, htmlPort = 0): Promise<{ scenarios: Scenario[]; stop(): Promise<void> }> {
  const host = hostPlatform();
  addDemoImages(lab, host);
  // A web server where a registry was expected (a proxy's login page, a wrong port).
  const page =
    "<!doctype html><html><head><title>Sign in</title></head><body><h1>Corporate portal</h1><p>Please sign in.</p></body></html>\n";
  const serveHtml = (port: number) =>
    startWire("127.0.0.1", port, (_req, res) => res.send(200, { "Content-Type": "text/html; charset=utf-8" }, page));
  // Next to a fixed lab port when one was asked for (stable commands in docs), else any.
  const html = await serveHtml(htmlPort).catch(() => serveHtml(0));

  return { scenarios: scenarioList(lab, host, html.port), stop: () => html.close() };
}

/** The demo repositories, each with the fault its scenario shows. */
function addDemoImages(lab: LabRegistry, host: Platform): void {
  const image = (label: string, platform: Platform = host, size = 4096) =>
    buildImage({
      label,
      platform,
      layers: [
        [{ name: "hello.txt", content: `hello from the pulldoctor lab (${label})\n` }],
        [{ name: "data.bin", content: noise(size, label.length) }],
      ],
    });
  const multi = (label: string) => buildIndex([image(label, host, 256 * 1024), ...otherPlatforms(host).map((p) => image(label, p))]);

  lab.addImage("demo/healthy", "latest", multi("healthy"));
  lab.addImage("demo/private", "1.0", image("private"), [{ kind: "auth-required", ...DEMO_USER }]);
  for (const tag of ["1.0", "1.1", "2.0", "latest"]) lab.addImage("demo/app", tag, image(`app ${tag}`));
  lab.addImage("demo/popular", "latest", image("popular"), [{ kind: "rate-limited", remaining: 0, limit: 100 }]);
  lab.addImage("demo/busy", "latest", image("busy"), [{ kind: "rate-limited", remaining: 3, limit: 100 }]);
  lab.addImage("demo/cdn", "1.0", image("cdn"), [{ kind: "blob-redirect", to: UNREACHABLE_BLOB_HOST }]);
  lab.addImage("demo/arm-only", "1.0", buildIndex(otherPlatforms(host).map((p) => image("arm-only", p))));
  lab.addImage("demo/tampered", "1.0", image("tampered"), [{ kind: "digest-mismatch" }]);
  // Big enough for the blob stage to time (≥ 512 KiB), served at 384 KiB/s: about 1.5 s.
  lab.addImage("demo/slow", "1.0", image("slow", host, 600 * 1024), [{ kind: "slow-blob", bytesPerSecond: 384 * 1024 }]);
}

/** The scenarios `pulldoctor demo` lists: an image on the lab each, and the finding it should produce. */
function scenarioList(lab: LabRegistry, host: Platform, htmlPort: number): Scenario[] {
  const at = (path: string) => `${lab.host}/${path}`;
  return [
    {
      id: "healthy",
      image: at("demo/healthy:latest"),
      title: "a healthy multi-platform image",
      expect: null,
      hint: "every stage passes; try `pulldoctor pull` on it",
    },
    {
      id: "credentials",
      image: at("demo/private:1.0"),
      title: "credentials required",
      expect: "AUTH_CREDENTIALS_REQUIRED",
      hint: `anonymous pulls are refused; the lab accepts user "${DEMO_USER.username}" password "${DEMO_USER.password}"`,
    },
    {
      id: "tag",
      image: at("demo/app:1.O"),
      title: "a missing tag with a near miss",
      expect: "MANIFEST_UNKNOWN",
      hint: "the tag is 1.O (letter O); the repository has 1.0",
    },
    {
      id: "name",
      image: at("demo/missing:1.0"),
      title: "a repository that does not exist",
      expect: "NAME_UNKNOWN",
      hint: "no such repository on this registry",
    },
    {
      id: "rate-limit",
      image: at("demo/popular:latest"),
      title: "rate limited",
      expect: "RATE_LIMITED",
      hint: "429 TOOMANYREQUESTS with Docker Hub's ratelimit headers",
    },
    {
      id: "rate-low",
      image: at("demo/busy:latest"),
      title: "almost rate limited",
      expect: "RATE_LIMIT_LOW",
      hint: "3 pulls left in the window",
    },
    {
      id: "cdn",
      image: at("demo/cdn:1.0"),
      title: "blobs redirected to an unreachable host",
      expect: "BLOB_REDIRECT_UNREACHABLE",
      hint: `manifests work, layers are redirected to ${UNREACHABLE_BLOB_HOST}, which refuses connections`,
    },
    {
      id: "platform",
      image: at("demo/arm-only:1.0"),
      title: "no image for this platform",
      expect: "PLATFORM_UNAVAILABLE",
      hint: `the index offers only ${otherPlatforms(host)
        .map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join("/"))
        .join(", ")}`,
    },
    { id: "slow", image: at("demo/slow:1.0"), title: "a slow blob host", expect: "BLOB_SLOW", hint: "layers trickle in at 384 KiB/s" },
    {
      id: "digest",
      image: at("demo/tampered:1.0"),
      title: "manifest digest mismatch",
      expect: "DIGEST_MISMATCH",
      hint: "Docker-Content-Digest does not match the bytes served",
    },
    {
      id: "not-registry",
      image: `127.0.0.1:${htmlPort}/demo/app:1.0`,
      title: "not a registry",
      expect: "V2_NOT_A_REGISTRY",
      hint: "a web server answers /v2/ with an HTML page",
    },
  ];
}
