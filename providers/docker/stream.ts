/**
 * Docker's multiplexed attach/logs stream (non-TTY): frames of an 8-byte header — stream type (1 stdout,
 * 2 stderr), three zero bytes, a big-endian uint32 length — then the payload. Used by the exec relay (stdout is
 * the gateway's bytes, stderr the relay's diagnostics) and by container logs.
 */
export class FrameDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: "stdout" | "stderr", payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const type = this.buf[0];
      const payload = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      // type 0 is stdin (never sent to clients); treat anything but 2 as stdout
      this.onFrame(type === 2 ? "stderr" : "stdout", payload);
    }
  }
}

/** Splits a byte stream into lines (\n, optional \r), keeping an incomplete tail for the next chunk. */
export class LineSplitter {
  private tail = "";
  private readonly decoder = new TextDecoder();

  push(chunk: Buffer | Uint8Array): string[] {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const parts = text.split("\n");
    this.tail = parts.pop() ?? "";
    return parts.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  }

  /** The last line when the stream ended without a newline. */
  flush(): string[] {
    const rest = this.tail + this.decoder.decode();
    this.tail = "";
    return rest ? [rest] : [];
  }
}
