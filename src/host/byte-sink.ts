/** A byte buffer that doubles as it fills (for decoded strings and base64). */
export class ByteSink {
  private buf = new Uint8Array(64);
  private len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(byte: number): void {
    this.room(1);
    this.buf[this.len++] = byte;
  }
  append(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
