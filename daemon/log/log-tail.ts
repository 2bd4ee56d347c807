// The daemon's last log lines in memory, as written (redacted and digit-masked by logger.ts), for
// the support bundle: the service cannot read its own journald entries (it is not in the
// systemd-journal group), and a remote bundle has nothing else. Bounded by lines and by bytes.

export class LogTail {
  private readonly lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly maxLines = 1_000,
    private readonly maxBytes = 512 * 1024,
  ) {}

  push(line: string): void {
    const text = line.endsWith("\n") ? line.slice(0, -1) : line;
    this.lines.push(text);
    this.bytes += text.length;
    while (this.lines.length > this.maxLines || this.bytes > this.maxBytes) {
      this.bytes -= (this.lines.shift() ?? "").length;
    }
  }

  /** The last `n` lines, oldest first. */
  last(n = this.maxLines): string[] {
    return this.lines.slice(-n);
  }
}
