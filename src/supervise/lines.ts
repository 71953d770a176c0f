// Splits a child's byte stream into lines with bounded memory: a line longer than maxBytes is
// emitted truncated as soon as it reaches the bound, and the rest of it is skipped. The reader
// may stop after any line (its log destination is full) and push the rest of the chunk later.

export const MAX_LINE_BYTES = 16 * 1024;

export type LineHandler = (line: string, truncated: boolean) => void;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside a line that was already emitted truncated: skip up to its newline. */
  private skipping = false;

  constructor(
    private readonly onLine: LineHandler,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  /**
   * Emits the chunk's lines. `more` is asked after each newline: when it says no, push stops
   * there. Returns how many bytes of the chunk it took (all of them unless `more` stopped it).
   */
  push(chunk: Buffer, more?: () => boolean): number {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (newline >= 0 && this.size === 0 && !this.skipping && end - start <= this.maxBytes) {
        // The common case, a whole line inside the chunk: decoded in place, nothing copied.
        this.deliver(chunk.toString('utf8', start, end), false);
      } else {
        if (!this.skipping) this.append(chunk.subarray(start, end));
        if (newline < 0) return chunk.length;
        if (this.skipping) this.skipping = false;
        else this.emit(false);
      }
      start = newline + 1;
      if (more && !more()) return start;
    }
    return chunk.length;
  }

  /** Emits a last line that has no newline (the stream ended, or its writer exited). */
  flush(): void {
    if (this.size > 0) this.emit(false);
    this.skipping = false;
  }

  private append(piece: Buffer): void {
    const room = this.maxBytes - this.size;
    if (piece.length <= room) {
      // Copied: a slice would keep the whole read chunk alive.
      if (piece.length > 0) this.parts.push(Buffer.from(piece));
      this.size += piece.length;
      return;
    }
    this.parts.push(Buffer.from(piece.subarray(0, room)));
    this.size += room;
    this.emit(true);
    this.skipping = true;
  }

  private emit(truncated: boolean): void {
    const line = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.deliver(line, truncated);
  }

  private deliver(line: string, truncated: boolean): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line, truncated);
  }
}
