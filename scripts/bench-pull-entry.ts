#!/usr/bin/env bun
/**
 * The pull engine alone, for scripts/bench-pull and the kill-and-resume test: reads the
 * manifest of IMAGE from a plain-HTTP registry on loopback, then runs runPull exactly as the
 * CLI does after a passing diagnosis. Prints {result, findings, summary} as JSON.
 *
 *   bun scripts/bench-pull-entry.ts http://127.0.0.1:5000 team/app 1.0 oci:/tmp/out [concurrency]
 * The blob store is $PULLDOCTOR_STORE (else the default cache).
 */
import { realDeps } from "../src/model/deps";
import type { Descriptor, Facts } from "../src/model/facts";
import { defaultOptions } from "../src/model/options";
import { nullTrace } from "../src/model/trace";
import { runPull } from "../src/pull/engine";

const [base, repository, tag, output, conc] = process.argv.slice(2);
if (!base || !repository || !tag || !output) {
  console.error("usage: bench-pull-entry.ts BASE_URL REPOSITORY TAG OUTPUT [CONCURRENCY]");
  process.exit(2);
}
const accept = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"].join(", ");
const res = await fetch(`${base}/v2/${repository}/manifests/${tag}`, { headers: { Accept: accept } });
if (res.status !== 200) throw new Error(`manifest: ${res.status}`);
const raw = new Uint8Array(await res.arrayBuffer());
const m = JSON.parse(new TextDecoder().decode(raw)) as { mediaType?: string; config: Descriptor; layers: Descriptor[] };
const digest = `sha256:${new Bun.CryptoHasher("sha256").update(raw).digest("hex")}`;
const mediaType = m.mediaType ?? res.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json";
const u = new URL(base);
const facts: Facts = {
  ref: {
    input: `${u.host}/${repository}:${tag}`,
    registry: u.host,
    repository,
    tag,
    digest: null,
    canonical: `${u.host}/${repository}:${tag}`,
    familiar: `${u.host}/${repository}:${tag}`,
  },
  route: { url: null, auth: null, reason: "loopback is never proxied" },
  link: { scheme: "http", baseUrl: base, tls: { ca: [], verify: false }, insecure: true },
  session: { scheme: "none", authorize: async () => null, invalidate() {} },
  manifest: {
    digest,
    mediaType,
    index: null,
    image: { digest, mediaType, size: raw.length, raw, config: m.config, layers: m.layers },
    platform: "linux/amd64",
  },
};
const ac = new AbortController();
process.on("SIGINT", () => ac.abort(new Error("interrupted")));
const out = await runPull({
  options: defaultOptions({ command: "pull", concurrency: conc ? Number(conc) : null, timeoutMs: 30_000 }),
  deps: realDeps(ac.signal),
  trace: nullTrace,
  endpoint: { url: base, host: u.host, hostname: u.hostname, port: Number(u.port), role: "upstream", insecure: true, pathPrefix: "" },
  facts,
  output,
  onProgress: process.env.PULL_PROGRESS
    ? (e) => e.type === "progress" && console.error(`progress ${e.digest} ${e.bytes} ${e.total}`)
    : undefined,
});
console.log(JSON.stringify({ result: out.result, findings: out.findings, summary: out.summary }));
process.exit(out.findings.length ? 1 : 0);
