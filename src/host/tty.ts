/**
 * isatty(fd) without creating process.stdin: Bun builds that stream (an fs.ReadStream or a
 * tty.ReadStream, with the stream modules behind it) on first access, and compiles all of it
 * just to answer `isTTY`. The stream's answer where Bun lacks the binding.
 */
export function stdinIsTTY(): boolean {
  try {
    const tty = (process as unknown as { binding(name: string): { isTTY(fd: number): boolean } }).binding("tty_wrap");
    return Boolean(tty.isTTY(0));
  } catch {
    return process.stdin.isTTY === true;
  }
}
