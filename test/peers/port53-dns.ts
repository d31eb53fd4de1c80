import dgram from "node:dgram";
import * as packet from "dns-packet";

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
