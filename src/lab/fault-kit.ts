import type { FaultOutcome, InstalledFault, NamedFault } from "./fault-catalogue";
import { startSilentHost } from "./faults-protocol-hosts";
import { type BuiltImage, type BuiltIndex, buildImage } from "./image";
import { type LabFault, type LabOptions, type LabRegistry, startLabRegistry } from "./server";

/** Builders the fault catalogue's lists share: a small image, expected outcomes, where a fault is installed. */

export const small = (name: string) =>
  buildImage({ label: `fault ${name}`, layers: [[{ name: "hello.txt", content: `fault ${name}\n` }]] });
export const fails = (...codes: string[]): FaultOutcome => ({ exit: 1, codes });
export const both = (o: FaultOutcome) => ({ check: o, pull: o });
export const repoOf = (name: string) => `fault/${name}`;

/** Serve `img` (under `tag`) at fault/<name> on `lab`; the run asks for fault/<name>:latest. */
export function installAt(
  lab: LabRegistry,
  name: string,
  img: BuiltImage | BuiltIndex,
  faults: LabFault[] = [],
  tag = "latest",
): InstalledFault {
  lab.addImage(repoOf(name), tag, img, faults);
  return { image: `${lab.host}/${repoOf(name)}:latest`, insecure: [lab.host] };
}

/** On the given lab, at fault/<name>:latest. */
export function onLab(name: string, title: string, expect: NamedFault["expect"], faults: LabFault[]): NamedFault {
  return { name, title, group: "protocol", expect, install: async (lab) => installAt(lab, name, small(name), faults) };
}

/** On the given lab, an image (or index) of its own at fault/<name>: the fault is in what it is, not in how it is served. */
export function shapedOnLab(
  name: string,
  title: string,
  expect: NamedFault["expect"],
  image: () => BuiltImage | BuiltIndex,
  tag = "latest",
): NamedFault {
  return { name, title, group: "protocol", expect, install: async (lab) => installAt(lab, name, image(), [], tag) };
}

/** On a lab of its own whose every request meets `host` faults (a /v2/ fault cannot be per repository). */
export function ownLab(
  name: string,
  title: string,
  expect: NamedFault["expect"],
  opts: LabOptions,
  setup?: (lab: LabRegistry) => void,
): NamedFault {
  return {
    name,
    title,
    group: "protocol",
    expect,
    async install(): Promise<InstalledFault> {
      const own = await startLabRegistry(opts);
      const installed = installAt(own, name, small(name));
      setup?.(own);
      return { ...installed, stop: () => own.stop() };
    },
  };
}

export function silent(name: string, title: string, answerTls: boolean, code: string): NamedFault {
  return {
    name,
    title,
    group: "protocol",
    expect: both(fails(code)),
    async install(): Promise<InstalledFault> {
      const s = await startSilentHost(answerTls);
      return { image: `${s.host}/${repoOf(name)}:latest`, insecure: [s.host], stop: () => s.close() };
    },
  };
}
