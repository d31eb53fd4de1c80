import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { isImplicitLatest, parseReference, ReferenceParseError } from "../../src/registry/reference";
import { referenceOutcome } from "../../src/stages/reference";
import { tempDir } from "../helpers/context";
import { requireBinary } from "../peers/require";

/**
 * What Docker's ParseNormalizedNamed + TagNameOnly (distribution/reference, go-digest)
 * produce. Rows come from distribution/reference normalize_test.go (TestValidateReferenceName,
 * TestValidateRemoteName, TestParseRepositoryInfo, TestNormalizedSplitHostname,
 * TestParseAnyReference), reference_test.go (TestReferenceParse) and docker/cli's
 * registry_test.go, plus edge cases of the grammar in regexp.go.
 */
const D = "sha256:" + "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const D384 = `sha384:${"a".repeat(96)}`;
const D512 = `sha512:${"b".repeat(128)}`;

interface Valid {
  /** what the user typed */
  input: string;
  /** reference.Domain: the registry Docker talks to */
  registry: string;
  /** reference.Path: the repository inside it */
  repository: string;
  /** the tag after TagNameOnly (null only when a digest was given without a tag) */
  tag: string | null;
  /** the digest, or null */
  digest: string | null;
  /** FamiliarString: how docker prints the name */
  familiar: string;
}
const v = (input: string, registry: string, repository: string, tag: string | null, digest: string | null, familiar: string): Valid => ({
  input,
  registry,
  repository,
  tag,
  digest,
  familiar,
});

const VALID: Valid[] = [
  // --- Docker Hub short names: docker.io + library/ + latest
  v("nginx", "docker.io", "library/nginx", "latest", null, "nginx:latest"),
  v("nginx:1.25", "docker.io", "library/nginx", "1.25", null, "nginx:1.25"),
  v("ubuntu:latest", "docker.io", "library/ubuntu", "latest", null, "ubuntu:latest"),
  v("debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  v("library/debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  v("docker/docker", "docker.io", "docker/docker", "latest", null, "docker/docker:latest"),
  v("docker.io/docker/docker", "docker.io", "docker/docker", "latest", null, "docker/docker:latest"),
  v("docker.io/library/debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  v("docker.io/debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  // --- index.docker.io is the legacy name of docker.io
  v("index.docker.io/docker/docker", "docker.io", "docker/docker", "latest", null, "docker/docker:latest"),
  v("index.docker.io/library/debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  v("index.docker.io/debian", "docker.io", "library/debian", "latest", null, "debian:latest"),
  v("index.docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", null, "fooo/bar:latest"),
  // --- registry-1.docker.io and registry.hub.docker.com are NOT normalized to docker.io
  v(
    "registry-1.docker.io/library/nginx",
    "registry-1.docker.io",
    "library/nginx",
    "latest",
    null,
    "registry-1.docker.io/library/nginx:latest",
  ),
  v("registry.hub.docker.com/ubuntu", "registry.hub.docker.com", "ubuntu", "latest", null, "registry.hub.docker.com/ubuntu:latest"),
  // --- multi-level Hub paths keep library/ when more components follow
  v("library/foo/bar", "docker.io", "library/foo/bar", "latest", null, "library/foo/bar:latest"),
  v("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", null, "library/foo/bar:latest"),
  v("store/foo/bar", "docker.io", "store/foo/bar", "latest", null, "store/foo/bar:latest"),
  v("nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "latest", null, "nonlibrary/ubuntu:latest"),
  v("other/library", "docker.io", "other/library", "latest", null, "other/library:latest"),
  v("library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", null, "ubuntu-12.04-base:latest"),
  v("dmcgowan/myapp:latest", "docker.io", "dmcgowan/myapp", "latest", null, "dmcgowan/myapp:latest"),
  // --- a first component is a host only with '.', ':', localhost, or upper case
  v("test.com/foo", "test.com", "foo", "latest", null, "test.com/foo:latest"),
  v("test_com/foo", "docker.io", "test_com/foo", "latest", null, "test_com/foo:latest"),
  v("docker/migrator", "docker.io", "docker/migrator", "latest", null, "docker/migrator:latest"),
  v("test.com:8080/foo", "test.com:8080", "foo", "latest", null, "test.com:8080/foo:latest"),
  v("test-com:8080/foo", "test-com:8080", "foo", "latest", null, "test-com:8080/foo:latest"),
  v("xn--n3h.com/foo", "xn--n3h.com", "foo", "latest", null, "xn--n3h.com/foo:latest"),
  v("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", null, "xn--n3h.com:18080/foo:latest"),
  v("localhost/foo", "localhost", "foo", "latest", null, "localhost/foo:latest"),
  v("localhost:5000/foo", "localhost:5000", "foo", "latest", null, "localhost:5000/foo:latest"),
  v("localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", null, "localhost:5000/foo/bar:tag"),
  v("Foo/bar", "Foo", "bar", "latest", null, "Foo/bar:latest"),
  v("FOO/bar", "FOO", "bar", "latest", null, "FOO/bar:latest"),
  v("Docker/docker", "Docker", "docker", "latest", null, "Docker/docker:latest"),
  v("example.com/private/moonbase", "example.com", "private/moonbase", "latest", null, "example.com/private/moonbase:latest"),
  v("example.com:8000/privatebasee", "example.com:8000", "privatebasee", "latest", null, "example.com:8000/privatebasee:latest"),
  v("Example.COM/app", "Example.COM", "app", "latest", null, "Example.COM/app:latest"),
  v("ghcr.io/owner/app:v1.2.3", "ghcr.io", "owner/app", "v1.2.3", null, "ghcr.io/owner/app:v1.2.3"),
  v(
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "app",
    "1",
    null,
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
  ),
  v("us-docker.pkg.dev/p/r/i", "us-docker.pkg.dev", "p/r/i", "latest", null, "us-docker.pkg.dev/p/r/i:latest"),
  // --- IPv4 hosts and ports
  v("127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", "latest", null, "127.0.0.1:5000/docker/docker:latest"),
  v("127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "latest", null, "127.0.0.1:5000/library/debian:latest"),
  v("127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", null, "127.0.0.1:5000/debian:latest"),
  v("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", "latest", null, "127.0.0.1:8000/private/moonbase:latest"),
  v("192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest", null, "192.168.0.1:8/debian:latest"),
  v("192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", "latest", null, "192.168.0.2:25000/debian:latest"),
  // a lone IP is a one-part Hub name; with ":80" the 80 is a tag, not a port
  v("192.168.0.1", "docker.io", "library/192.168.0.1", "latest", null, "192.168.0.1:latest"),
  v("192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", null, "192.168.0.1:80"),
  // a bare host name without '/' is also a Hub repository (upstream FIXME)
  v("example.com", "docker.io", "library/example.com", "latest", null, "example.com:latest"),
  v("localhost:5000", "docker.io", "library/localhost", "5000", null, "localhost:5000"),
  // --- IPv6 hosts only in brackets
  v("[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "latest", null, "[fc00::1]:5000/docker:latest"),
  v("[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", "latest", null, "[fc00::1]:5000/docker/docker:latest"),
  v(
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "[fc00:1:2:3:4:5:6:7]:5000",
    "library/debian",
    "latest",
    null,
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
  ),
  v("[::1]/ubuntu", "[::1]", "ubuntu", "latest", null, "[::1]/ubuntu:latest"),
  v("[::1]:5000/ubuntu:latest", "[::1]:5000", "ubuntu", "latest", null, "[::1]:5000/ubuntu:latest"),
  v("[2001:DB8::1]:443/app", "[2001:DB8::1]:443", "app", "latest", null, "[2001:DB8::1]:443/app:latest"),
  // --- path components: separators
  v("docker-rules/docker", "docker.io", "docker-rules/docker", "latest", null, "docker-rules/docker:latest"),
  v("docker---rules/docker", "docker.io", "docker---rules/docker", "latest", null, "docker---rules/docker:latest"),
  v("doc/docker", "docker.io", "doc/docker", "latest", null, "doc/docker:latest"),
  v("d/docker", "docker.io", "d/docker", "latest", null, "d/docker:latest"),
  v("jess/t", "docker.io", "jess/t", "latest", null, "jess/t:latest"),
  v("dock__er/docker", "docker.io", "dock__er/docker", "latest", null, "dock__er/docker:latest"),
  v("a_b-c/d.e_f--g", "docker.io", "a_b-c/d.e_f--g", "latest", null, "a_b-c/d.e_f--g:latest"),
  v(
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "docker.io",
    "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "latest",
    null,
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
  ),
  // 63 hex characters are a name, not an ID
  v(
    "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
    "docker.io",
    "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
    "latest",
    null,
    "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest",
  ),
  v("dbcc1", "docker.io", "library/dbcc1", "latest", null, "dbcc1:latest"),
  // with a host, 64 hex is a valid repository name
  v(
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "docker.io",
    "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "latest",
    null,
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
  ),
  // --- tags: [\w][\w.-]{0,127}, case kept
  v("nginx:Latest", "docker.io", "library/nginx", "Latest", null, "nginx:Latest"),
  v("nginx:1.25-ALPINE_x", "docker.io", "library/nginx", "1.25-ALPINE_x", null, "nginx:1.25-ALPINE_x"),
  v("nginx:_x", "docker.io", "library/nginx", "_x", null, "nginx:_x"),
  v(`nginx:${"t".repeat(128)}`, "docker.io", "library/nginx", "t".repeat(128), null, `nginx:${"t".repeat(128)}`),
  v("test:5000/repo", "test:5000", "repo", "latest", null, "test:5000/repo:latest"),
  v("test:5000/repo:tag", "test:5000", "repo", "tag", null, "test:5000/repo:tag"),
  v("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", "latest", null, "sub-dom1.foo.com/bar/baz/quux:latest"),
  v(
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    "sub-dom1.foo.com",
    "bar/baz/quux",
    "some-long-tag",
    null,
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
  ),
  v(
    "b.gcr.io/test.example.com/my-app:test.example.com",
    "b.gcr.io",
    "test.example.com/my-app",
    "test.example.com",
    null,
    "b.gcr.io/test.example.com/my-app:test.example.com",
  ),
  v("xn--7o8h.com/myimage:xn--7o8h.com", "xn--7o8h.com", "myimage", "xn--7o8h.com", null, "xn--7o8h.com/myimage:xn--7o8h.com"),
  v("foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", null, "foo_bar.com:8080"),
  v("foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", null, "foo/foo_bar.com:8080"),
  // --- digests: no latest is added when a digest is given
  v(`redis@${D}`, "docker.io", "library/redis", null, D, `redis@${D}`),
  v(`docker.io/library/redis@${D}`, "docker.io", "library/redis", null, D, `redis@${D}`),
  v(`dmcgowan/myapp@${D}`, "docker.io", "dmcgowan/myapp", null, D, `dmcgowan/myapp@${D}`),
  v(`busybox:latest@${D}`, "docker.io", "library/busybox", "latest", D, `busybox:latest@${D}`),
  v(`ghcr.io/o/r:1.0@${D}`, "ghcr.io", "o/r", "1.0", D, `ghcr.io/o/r:1.0@${D}`),
  v(`localhost:5000/app@${D}`, "localhost:5000", "app", null, D, `localhost:5000/app@${D}`),
  v(`[::1]:5000/app@${D}`, "[::1]:5000", "app", null, D, `[::1]:5000/app@${D}`),
  v(`nginx@${D384}`, "docker.io", "library/nginx", null, D384, `nginx@${D384}`),
  v(`nginx@${D512}`, "docker.io", "library/nginx", null, D512, `nginx@${D512}`),
  // the name limit counts the path only: 255 exactly is accepted, whatever the domain
  v(`example.com/${"a".repeat(255)}`, "example.com", "a".repeat(255), "latest", null, `example.com/${"a".repeat(255)}:latest`),
  v("a".repeat(247), "docker.io", `library/${"a".repeat(247)}`, "latest", null, `${"a".repeat(247)}:latest`),
];

interface Invalid {
  /** what the user typed */
  input: string;
  /** ReferenceParseError.kind */
  kind: string;
  /** the exact text Docker prints */
  message: string;
}
const x = (input: string, kind: string, message: string): Invalid => ({ input, kind, message });
const BAD = "invalid reference format";

const INVALID: Invalid[] = [
  x("", "empty", BAD),
  x("https://github.com/docker/docker", "invalid", BAD),
  x("https://registry.example.com/app:1", "invalid", BAD),
  x("-docker", "invalid", BAD),
  x("-docker/docker", "invalid", BAD),
  x("-docker.io/docker/docker", "invalid", BAD),
  x("docker///docker", "invalid", BAD),
  x("docker.io/docker///docker", "invalid", BAD),
  x("docker-/docker", "invalid", BAD),
  x("-docker-/docker", "invalid", BAD),
  x("____/____", "invalid", BAD),
  x("_docker/_docker", "invalid", BAD),
  x("dock..er/docker", "invalid", BAD),
  x("dock_.er/docker", "invalid", BAD),
  x("dock-.er/docker", "invalid", BAD),
  x("dock___er/docker", "invalid", BAD),
  x("docker/", "invalid", BAD),
  x("nginx:", "invalid", BAD),
  x("nginx:-tag", "invalid", BAD),
  x("nginx:.tag", "invalid", BAD),
  x("nginx:tag with space", "invalid", BAD),
  x(" nginx", "invalid", BAD),
  x("nginx ", "invalid", BAD),
  x(`nginx:${"t".repeat(129)}`, "invalid", BAD),
  x("nginx:a:b", "invalid", BAD),
  x("aa/asdf$$^/aa", "invalid", BAD),
  x("[fc00::1]", "invalid", BAD),
  x("[fc00::1]:5000", "invalid", BAD),
  x("fc00::1:5000/debian", "invalid", BAD),
  x("[fe80::1%eth0]:5000/debian", "invalid", BAD),
  x("[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid", BAD),
  x("example.com:/app", "invalid", BAD),
  x("example.com:port/app", "invalid", BAD),
  x("example.com/app@", "invalid", BAD),
  x("nginx@sha256:abc", "invalid", BAD),
  x("nginx@sha256", "invalid", BAD),
  x("repo@sha256:ffffffffffffffffffffffffffffffffff", "digest-length", "invalid checksum digest length"),
  x(`nginx@sha256:${"a".repeat(63)}`, "digest-length", "invalid checksum digest length"),
  x(`nginx@sha256:${"a".repeat(65)}`, "digest-length", "invalid checksum digest length"),
  x(`nginx@sha256:${"A".repeat(64)}`, "digest-invalid", "invalid checksum digest format"),
  x(
    "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "digest-unsupported",
    "unsupported digest algorithm",
  ),
  x(`nginx@md5:${"a".repeat(32)}`, "digest-unsupported", "unsupported digest algorithm"),
  // the lowercase check covers everything before the first ':' (here "@Sha256" too)
  x(`nginx@Sha256:${"a".repeat(64)}`, "uppercase", "invalid reference format: repository name (library/nginx@Sha256) must be lowercase"),
  // a '.' makes the first component a host, and '_' is not allowed in host names: Docker's
  // parser then returns an empty domain (nothing can be pulled); pulldoctor says why
  x(
    "a.b_c-d/e",
    "bad-host",
    '"a.b_c-d" is not a valid registry host name: Docker parses the reference with an empty registry and the daemon fails with: Get "https:/v2/": http: no Host in request URL',
  ),
  x("my_registry.local:5000/app", "invalid", BAD),
  x(`nginx@sha256+b64u:${"a".repeat(64)}`, "digest-unsupported", "unsupported digest algorithm"),
  x(
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "hex-name",
    "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings",
  ),
  x(
    "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
    "hex-name",
    "invalid repository name (dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c), cannot specify 64-byte hexadecimal strings",
  ),
  // upper case: the text shows what Docker checked (after library/ was added)
  x("Nginx", "uppercase", "invalid reference format: repository name (library/Nginx) must be lowercase"),
  x("docker/Docker", "uppercase", "invalid reference format: repository name (docker/Docker) must be lowercase"),
  x("docker.io/docker/Docker", "uppercase", "invalid reference format: repository name (docker/Docker) must be lowercase"),
  x("ghcr.io/Owner/App:1.0", "uppercase", "invalid reference format: repository name (Owner/App) must be lowercase"),
  x("Uppercase:tag", "uppercase", "invalid reference format: repository name (library/Uppercase) must be lowercase"),
  x("localhost:5000/MyApp", "uppercase", "invalid reference format: repository name (MyApp) must be lowercase"),
  x(`Foo@${D}`, "uppercase", "invalid reference format: repository name (library/Foo@sha256) must be lowercase"),
  // Upper case in the host part is fine, but not with an upper-case path below it
  x("Example.com/App", "uppercase", "invalid reference format: repository name (App) must be lowercase"),
  // the 255 limit counts the path ("library/" included), not the domain
  x("a".repeat(248), "name-too-long", "repository name must not be more than 255 characters"),
  x(
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
    "name-too-long",
    "repository name must not be more than 255 characters",
  ),
  x(`example.com/${"a".repeat(256)}`, "name-too-long", "repository name must not be more than 255 characters"),
];

describe("parseReference: valid references", () => {
  test("the table is big enough", () => expect(VALID.length + INVALID.length).toBeGreaterThanOrEqual(100));
  for (const c of VALID) {
    test(c.input.length > 80 ? `${c.input.slice(0, 80)}…` : c.input, () => {
      const r = parseReference(c.input);
      const suffix = (c.tag !== null ? `:${c.tag}` : "") + (c.digest !== null ? `@${c.digest}` : "");
      expect(r).toEqual({
        input: c.input,
        registry: c.registry,
        repository: c.repository,
        tag: c.tag,
        digest: c.digest,
        canonical: `${c.registry}/${c.repository}${suffix}`,
        familiar: c.familiar,
      });
    });
  }
});

describe("parseReference: invalid references", () => {
  for (const c of INVALID) {
    test(JSON.stringify(c.input.length > 80 ? `${c.input.slice(0, 80)}…` : c.input), () => {
      let err: unknown = null;
      try {
        parseReference(c.input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ReferenceParseError);
      expect((err as ReferenceParseError).kind).toBe(c.kind as never);
      expect((err as ReferenceParseError).message).toBe(c.message);
    });
  }
});

describe("parseReference: named outputs", () => {
  test("canonical and familiar of a short name", () => {
    const r = parseReference("nginx");
    expect(r.canonical).toBe("docker.io/library/nginx:latest");
    expect(r.familiar).toBe("nginx:latest");
  });
  test("tag and digest together are both kept", () => {
    expect(parseReference(`busybox:latest@${D}`).canonical).toBe(`docker.io/library/busybox:latest@${D}`);
  });
  test("pathological input is answered quickly (no regex blow-up)", () => {
    const t = performance.now();
    for (const s of [`${"a-".repeat(500)}!`, `${"a.".repeat(2000)}/`, `${"a".repeat(5000)}:${"-".repeat(200)}`, `[${":".repeat(3000)}`]) {
      expect(() => parseReference(s)).toThrow(ReferenceParseError);
    }
    expect(performance.now() - t).toBeLessThan(500);
  });
});

/**
 * The same table through the real docker CLI: `docker pull REF` parses REF exactly as above
 * before it contacts the daemon, so with no daemon a valid reference ends in "Cannot
 * connect to the Docker daemon" (after "Using default tag: latest" when neither tag nor
 * digest was given) and an invalid one prints Docker's parse error.
 */
describe("the real docker CLI agrees with every row", () => {
  const docker = requireBinary("docker", "docker.io");
  const cfg = tempDir("pd-refcli-");
  afterAll(() => cfg.cleanup());
  const pull = (ref: string) =>
    new Promise<string>((resolve) => {
      const child = spawn(docker, ["pull", "--", ref], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: cfg.dir,
          DOCKER_CONFIG: cfg.dir,
          DOCKER_HOST: `unix://${cfg.dir}/absent.sock`,
        },
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("close", () => {
        clearTimeout(timer);
        resolve(out);
      });
    });

  test("docker pull, no daemon", async () => {
    const jobs: (() => Promise<string | null>)[] = [
      ...VALID.map((c) => async () => {
        const out = await pull(c.input);
        const implicit = isImplicitLatest(c.input, parseReference(c.input));
        if (!out.includes("Cannot connect to the Docker daemon")) return `${c.input}: docker refused it: ${out.trim()}`;
        if (out.includes("Using default tag: latest") !== implicit)
          return `${c.input}: implicit latest ${implicit}, docker said: ${out.trim()}`;
        return null;
      }),
      ...INVALID.map((c) => async () => {
        const out = await pull(c.input);
        if (c.kind === "bad-host") return out.includes("Cannot connect to the Docker daemon") ? null : `${c.input}: ${out.trim()}`;
        const first = out.split("\n")[0];
        return first === c.message
          ? null
          : `${JSON.stringify(c.input.slice(0, 60))}: expected ${JSON.stringify(c.message)}, docker said ${JSON.stringify(out.trim())}`;
      }),
    ];
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs.length) {
          const p = await jobs[next++]!();
          if (p) problems.push(p);
        }
      }),
    );
    expect(problems).toEqual([]);
  }, 120_000);
});

describe("the reference stage shows terminal controls escaped", () => {
  test("ESC, BEL and CSI in the input reach no finding, fix or evidence raw", () => {
    // Before: `pulldoctor check $'ubuntu\e[31mRED\a'` printed the ESC sequence into the terminal and the report.
    const out = referenceOutcome("ubuntu\x1b[31mRED\x07\x9b");
    expect(out.findings[0]!.code).toBe("REF_UPPERCASE");
    expect(out.findings[0]!.detail).toBe("repository name (library/ubuntu\\x1b[31mRED\\x07\\x9b) must be lowercase");
    expect(out.findings[0]!.fixes[0]).toBe("Use the lower-case reference: pulldoctor check ubuntu\\x1b[31mred\\x07\\x9b");
    expect(out.findings[0]!.evidence.input).toBe("ubuntu\\x1b[31mRED\\x07\\x9b");
    expect(out.summary).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});
