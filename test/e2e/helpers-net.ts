import { expect } from "bun:test";
import dgram from "node:dgram";
import path from "node:path";
import * as packet from "dns-packet";
import { type Finding, findingOf, stageOf } from "../helpers/report";
import { expectValidReport } from "../helpers/schema";
import type { NsRun } from "./helpers-ns";

export { codesOf, type Finding, findingOf, type Stage, stageOf } from "../helpers/report";

/** Shared by the network e2e files: hermetic flags, report lookups, the common assertions. */

/** Flags that keep a run away from this machine's Docker setup: no daemon.json, our certs.d. */
export function hermetic(dir: string, o: { timeout?: number; certsDir?: string; daemonConfig?: string } = {}): string[] {
  return [
    "--daemon-config",
    o.daemonConfig ?? path.join(dir, "no-daemon.json"),
    "--certs-dir",
    o.certsDir ?? path.join(dir, "no-certs.d"),
    "--timeout",
    String(o.timeout ?? 3),
  ];
}

/**
 * The assertions every network e2e makes: a schema-valid report; the finding with its
 * severity, in its stage, whose status follows (error ⇒ fail, warning ⇒ warn); exit 1 exactly
 * when the report holds an error finding; the verdict names the first error.
 */
export function expectFinding(
  r: NsRun,
  code: string,
  severity: "error" | "warning" | "info",
  stage: string,
  stageStatus?: string,
): Finding {
  expectValidReport(r.report);
  const f = findingOf(r.report, code);
  expect([f.code, f.severity, f.stage]).toEqual([code, severity, stage]);
  const s = stageOf(r.report, stage);
  expect(s.status).toBe(stageStatus ?? (severity === "error" ? "fail" : severity === "warning" ? "warn" : s.status));
  const errors = (r.report.findings as Finding[]).filter((x) => x.severity === "error");
  expect(r.code).toBe(errors.length > 0 ? 1 : 0);
  expect(r.report.verdict.ok).toBe(errors.length === 0);
  if (severity === "error") {
    expect(r.code).toBe(1);
    expect(r.report.verdict.code).toBe(errors[0]!.code);
  }
  return f;
}

/**
 * A scripted DNS server on port 53 of a loopback address of its own (127.53.x.y), so that a
 * resolv.conf, which cannot name a port, can point at it. Binding port 53 needs root (the
 * namespace runner does too). UDP only: glibc's getaddrinfo and Go's resolver both start with
 * UDP. `answer(q)` returns the A addresses for the question, "drop", or an RCODE number.
 */
export interface Port53Dns {
  address: string;
  server: string;
  seen: string[];
  stop(): Promise<void>;
}

export async function startPort53Dns(answer: (q: packet.Packet) => string[] | "drop" | number): Promise<Port53Dns> {
  if (process.getuid?.() !== 0) throw new Error("a DNS server on port 53 needs root: run the e2e tests as root");
  const seen: string[] = [];
  // A random address of 127.53.0.0/16; another test's server may hold one, so try a few
  // (a fresh socket each time: a socket whose bind failed cannot be bound again).
  let udp: dgram.Socket | null = null;
  let address = "";
  for (let attempt = 0; !udp; attempt++) {
    address = `127.53.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    const s = dgram.createSocket("udp4");
    const err = await new Promise<Error | null>((resolve) => {
      s.once("error", resolve);
      s.bind(53, address, () => {
        s.removeListener("error", resolve);
        resolve(null);
      });
    });
    if (!err) udp = s;
    else {
      s.close();
      if (attempt >= 4) throw new Error(`cannot bind a DNS server on ${address}:53: ${err.message}`);
    }
  }
  const sock = udp;
  sock.on("message", (msg, rinfo) => {
    let q: packet.Packet;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    const edns = (q.additionals ?? []).some((a) => a.type === "OPT");
    seen.push(`${question?.type} ${question?.name}${edns ? " +edns" : ""}`);
    const a = answer(q);
    if (a === "drop") return;
    const rcode = typeof a === "number" ? a : 0;
    const answers: packet.Answer[] =
      Array.isArray(a) && question?.type === "A" ? a.map((data) => ({ type: "A", name: question.name, ttl: 5, data })) : [];
    const reply = packet.encode({
      type: "response",
      id: q.id,
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcode,
      questions: q.questions,
      answers,
    });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  return { address, server: `${address}:53`, seen, stop: () => new Promise<void>((r) => sock.close(() => r())) };
}
