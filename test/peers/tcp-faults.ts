import { dlopen, FFIType, ptr } from "bun:ffi";
import net from "node:net";

/**
 * TCP faults on loopback, made with real sockets:
 * - `blackhole()`: a listener whose accept queue is full, so the kernel DROPS further SYNs
 *   (exactly what a firewall DROP looks like to the client: no SYN-ACK, no RST ⇒ timeout).
 *   node:net always accepts, so the listening socket is made with libc via bun:ffi, with
 *   backlog 0, never accepted, and filled with one connection.
 * - `silentServer()`: accepts and never sends a byte (a TLS handshake that never ends).
 * - `resetServer()`: accepts, reads the first bytes (the ClientHello), then resets.
 */

export interface FaultPeer {
  port: number;
  stop(): Promise<void>;
}

const AF_INET = 2;
const SOCK_STREAM = 1;

function libc() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
}

export async function blackhole(): Promise<FaultPeer> {
  const lib = libc();
  const fd = lib.symbols.socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw new Error("socket() failed");
  const sa = new Uint8Array(16);
  sa[0] = AF_INET; // sin_family (little-endian u16)
  sa[4] = 127;
  sa[7] = 1; // 127.0.0.1, port 0
  if (lib.symbols.bind(fd, ptr(sa), 16) !== 0 || lib.symbols.listen(fd, 0) !== 0) {
    lib.symbols.close(fd);
    throw new Error("bind/listen failed");
  }
  const len = new Uint32Array([16]);
  lib.symbols.getsockname(fd, ptr(sa), ptr(len));
  const port = (sa[2]! << 8) | sa[3]!;
  // Fill the accept queue (backlog 0 holds one): after this, SYNs are dropped.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      fillers.push(s);
      const t = setTimeout(() => resolve(false), 300);
      s.once("connect", () => {
        clearTimeout(t);
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (!ok) break;
  }
  return {
    port,
    stop: async () => {
      for (const s of fillers) s.destroy();
      lib.symbols.close(fd);
      lib.close();
    },
  };
}

function serve(onConn: (s: net.Socket) => void): Promise<FaultPeer> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onConn(s);
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      resolve({
        port: typeof a === "object" && a ? a.port : 0,
        stop: async () => {
          for (const s of sockets) s.destroy();
          await new Promise<void>((r) => srv.close(() => r()));
        },
      });
    });
  });
}

export function silentServer(): Promise<FaultPeer> {
  return serve(() => {});
}

export function resetServer(): Promise<FaultPeer> {
  return serve((s) => {
    s.once("data", () => s.resetAndDestroy());
  });
}
