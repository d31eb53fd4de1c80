import net from "node:net";
import { MT } from "./image";

/**
 * Hosts a protocol fault starts on its own listener, below the lab's wire server: one that
 * never answers, and one that floods (a token or manifest answer without end). The flood is
 * written in 64 KiB slices that wait for the socket to drain, so the lab never holds the whole
 * answer and a client that stops reading stops the flood; `sent()` tells how far it got.
 */
export interface FaultHost {
  url: string;
  host: string;
  port: number;
  /** Bytes of flood written so far (all connections). */
  sent(): number;
  close(): Promise<void>;
}

async function listen(onSocket: (s: net.Socket) => void, sent: () => number): Promise<FaultHost> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    onSocket(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    sent,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A host that accepts connections and never answers a request (a hung application server).
 * With `answerTls`, a TLS ClientHello still gets the 400 a plain-HTTP front end sends (so the
 * connect stage sees plain HTTP, as with a hung app behind a live listener); without it, not
 * one byte is ever written (a black-holing middlebox).
 */
export function startSilentHost(answerTls: boolean): Promise<FaultHost> {
  return listen(
    (socket) =>
      socket.once("data", (chunk: Buffer) => {
        if (answerTls && chunk[0] === 0x16)
          socket.end(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 15\r\n\r\n400 Bad Request",
          );
        // Anything else is read and never answered.
        else socket.on("data", () => undefined);
      }),
    () => 0,
  );
}

const API = "Docker-Distribution-Api-Version: registry/2.0\r\n";
/** Some digest for the HEAD to name: the GET by it floods before any digest could be checked. */
const FLOOD_DIGEST = `sha256:${"f".repeat(64)}`;

/**
 * A registry whose token endpoint (`what: "token"`: /v2/ challenges with a realm on this host)
 * or manifest GET (`what: "manifest"`: the HEAD says 600 bytes, the GET is chunked) answers
 * `bytes` of JSON that never closes. One request per connection.
 */
export function startFloodRegistry(what: "token" | "manifest", bytes: number): Promise<FaultHost> {
  let total = 0;
  let port = 0;
  const slab = new Uint8Array(64 * 1024).fill(0x61);
  const flood = async (socket: net.Socket, head: string, open: string, tail: string, chunked: boolean) => {
    const frame = (b: Uint8Array | string) => (chunked ? [`${b.length.toString(16)}\r\n`, b, "\r\n"] : [b]);
    socket.write(head);
    for (const p of frame(open)) socket.write(p);
    let sent = open.length;
    while (sent < bytes && !socket.destroyed) {
      const part = slab.subarray(0, Math.min(slab.length, bytes - sent));
      let ok = true;
      for (const p of frame(part)) ok = socket.write(p) && ok;
      sent += part.length;
      total += part.length;
      if (!ok)
        await new Promise<void>((r) => {
          socket.once("drain", r);
          socket.once("close", r);
        });
    }
    if (!socket.destroyed) socket.end(chunked ? `${tail.length.toString(16)}\r\n${tail}\r\n0\r\n\r\n` : tail);
  };
  return listen(
    (socket) => {
      let buf = "";
      const onData = (chunk: Buffer) => {
        buf += chunk.toString("latin1");
        if (!buf.includes("\r\n\r\n")) return;
        socket.off("data", onData);
        const [method = "", target = ""] = buf.split(" ");
        const path = target.split("?")[0]!;
        const reply = (status: string, headers: string, body = "") =>
          socket.end(
            `HTTP/1.1 ${status}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${method === "HEAD" ? "" : body}`,
          );
        if (path === "/v2/" || path === "/v2") {
          if (what === "token")
            return reply(
              "401 Unauthorized",
              `${API}Content-Type: application/json\r\nWWW-Authenticate: Bearer realm="http://127.0.0.1:${port}/token",service="flood"\r\n`,
              '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
            );
          return reply("200 OK", `${API}Content-Type: application/json\r\n`, "{}");
        }
        if (what === "token" && path === "/token") {
          return void flood(
            socket,
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${bytes + 2}\r\nConnection: close\r\n\r\n`,
            '{"token":"',
            '"}',
            false,
          );
        }
        if (what === "manifest" && /^\/v2\/.+\/manifests\/[^/]+$/.test(path)) {
          const h = `${API}Content-Type: ${MT.ociManifest}\r\nDocker-Content-Digest: ${FLOOD_DIGEST}\r\n`;
          if (method === "HEAD") return reply("200 OK", h, " ".repeat(600));
          return void flood(
            socket,
            `HTTP/1.1 200 OK\r\n${h}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
            `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","annotations":{"pad":"`,
            '"}}',
            true,
          );
        }
        reply(
          "404 Not Found",
          `${API}Content-Type: application/json\r\n`,
          '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}',
        );
      };
      socket.on("data", onData);
    },
    () => total,
  ).then((h) => {
    port = h.port;
    return h;
  });
}
