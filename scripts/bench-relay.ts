/**
 * A TCP relay to 127.0.0.1:`port` that holds every chunk half of `rtt()` ms in each direction:
 * a link with latency in front of a loopback peer, for the check's benchmark. The round trip is
 * read for every chunk, so one relay serves every RTT of a run.
 */
export function relay(port: number, rtt: () => number): { host: string; stop(): void } {
  const later = (f: () => void): void => {
    const half = rtt() / 2;
    if (half > 0) setTimeout(f, half);
    else f();
  };
  const srv = Bun.listen<{ up: Bun.Socket<undefined> | null; queue: Buffer[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { up: null, queue: [] };
        Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            open(up) {
              client.data.up = up;
              for (const b of client.data.queue) up.write(b);
              client.data.queue = [];
            },
            data: (_up, d) => later(() => void client.write(Buffer.from(d))),
            close: () => later(() => void client.end()),
            error: () => void client.end(),
          },
        }).catch(() => client.end());
      },
      data(client, d) {
        const b = Buffer.from(d);
        later(() => (client.data.up ? void client.data.up.write(b) : void client.data.queue.push(b)));
      },
      close: (client) => later(() => void client.data.up?.end()),
    },
  });
  return { host: `127.0.0.1:${srv.port}`, stop: () => srv.stop(true) };
}
