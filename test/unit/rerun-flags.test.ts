import { expect, test } from "bun:test";
import { defaultOptions } from "../../src/model/options";
import { rerunFlags, shellWord, withRunFlags } from "../../src/model/rerun-flags";

test("a run with default options adds nothing to a fix", () => {
  expect(withRunFlags(["pulldoctor check a/b:1", "docker login r"], defaultOptions())).toEqual([
    "pulldoctor check a/b:1",
    "docker login r",
  ]);
});

test("the flags that change what the doctor sees are carried, in order, quoted for the shell; a mirror's password is masked", () => {
  const o = defaultOptions({
    platform: "linux/arm64",
    dockerConfig: "/home/me/my docker",
    daemonConfig: "/tmp/daemon.json",
    certsDir: "/tmp/certs.d",
    dns: ["127.0.0.1:5353"],
    insecureRegistries: ["reg.local:5000", "10.0.0.0/8"],
    mirrors: ["https://bob:s3cret@mirror.corp"],
    timeoutMs: 3000,
    json: true,
    verbose: true,
    reportFile: "/tmp/r.json",
    output: "oci:/tmp/x",
  });
  expect(rerunFlags(o)).toEqual([
    "--platform linux/arm64",
    "--docker-config '/home/me/my docker'",
    "--daemon-config /tmp/daemon.json",
    "--certs-dir /tmp/certs.d",
    "--dns 127.0.0.1:5353",
    "--insecure-registry reg.local:5000",
    "--insecure-registry 10.0.0.0/8",
    "--mirror https://bob:xxxxx@mirror.corp",
    "--timeout 3",
  ]);
  expect(rerunFlags(o).join(" ")).not.toContain("s3cret");
});

test("each pulldoctor check|pull IMAGE gets the flags after IMAGE, without repeating one the fix already names; placeholders are left alone", () => {
  const o = defaultOptions({ insecureRegistries: ["reg.local:5000"], timeoutMs: 5000 });
  expect(
    withRunFlags(
      [
        "Use the lower-case reference: pulldoctor check reg.local:5000/app:1",
        "Or write elsewhere: pulldoctor pull reg.local:5000/app:1 --output oci:/big",
        "pulldoctor check reg.local:5000/app:1 --timeout 5",
        "pulldoctor check IMAGE --username USER --password-stdin",
        "docker pull reg.local:5000/app:1",
      ],
      o,
    ),
  ).toEqual([
    "Use the lower-case reference: pulldoctor check reg.local:5000/app:1 --insecure-registry reg.local:5000 --timeout 5",
    "Or write elsewhere: pulldoctor pull reg.local:5000/app:1 --insecure-registry reg.local:5000 --timeout 5 --output oci:/big",
    "pulldoctor check reg.local:5000/app:1 --insecure-registry reg.local:5000 --timeout 5",
    "pulldoctor check IMAGE --username USER --password-stdin",
    "docker pull reg.local:5000/app:1",
  ]);
});

test("shellWord quotes only what the shell would split or expand", () => {
  expect(shellWord("/a/b-c_d.e:1")).toBe("/a/b-c_d.e:1");
  expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
  expect(shellWord("$HOME")).toBe("'$HOME'");
});
