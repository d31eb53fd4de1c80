import net from "node:net";
import type { Duplex } from "node:stream";

/**
 * The socket, wrapped so we see the server's first bytes: BoringSSL only says "wrong
 * version number", Go (and Docker) look at the record header and, when it starts with
 * "HTTP/", print "http: server gave HTTP response to HTTPS client".
 */
export function tap(raw: net.Socket): { stream: Duplex; first: () => string } {
  let first = Buffer.alloc(0);
  const stream = new (duplexClass())({
    read() {
      raw.resume();
    },
    write(chunk, _enc, cb) {
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end();
      cb();
    },
    destroy(err, cb) {
      raw.destroy();
      cb(err);
    },
  });
  raw.on("data", (c: Buffer) => {
    if (first.length < 64) first = Buffer.concat([first, c]).subarray(0, 64);
    if (!stream.push(c)) raw.pause();
  });
  raw.on("end", () => stream.push(null));
  raw.on("close", () => stream.push(null));
  raw.on("error", (e) => stream.destroy(e));
  return { stream, first: () => first.toString("latin1").replace(/[^\x20-\x7e\r\n]/g, ".") };
}

/**
 * stream.Duplex without loading node:stream: Bun's net.Socket extends Duplex, and node:net is
 * loaded anyway, whereas loading node:stream evaluates and compiles its whole family (pipeline,
 * compose, operators, transform…, ≈ 5 KB of JavaScript) for a check that needs none of it.
 * node:stream's own class where a Bun's Socket no longer derives from it.
 */
function duplexClass(): typeof Duplex {
  const parent = Object.getPrototypeOf(net.Socket.prototype)?.constructor;
  return parent?.name === "Duplex" ? parent : (require("node:stream") as typeof import("node:stream")).Duplex;
}
