// A CD5220 screen emulator: feeds the bytes a host sends and keeps the two 20-column lines the
// glass would show. Used to print the demo's display and to assert what a customer sees.

export class Cd5220Screen {
  lines: [string, string] = [" ".repeat(20), " ".repeat(20)];
  private buf: number[] = [];

  push(bytes: Uint8Array): void {
    for (const b of bytes) this.buf.push(b);
    this.drain();
  }

  text(): [string, string] {
    return [this.lines[0].trimEnd(), this.lines[1].trimEnd()];
  }

  private drain(): void {
    for (;;) {
      const b = this.buf;
      if (b.length === 0) return;
      if (b[0] === 0x0c) {
        this.lines = [" ".repeat(20), " ".repeat(20)];
        b.shift();
        continue;
      }
      if (b[0] !== 0x1b) {
        b.shift(); // not a command this emulator models
        continue;
      }
      if (b.length < 2) return;
      if (b[1] === 0x40) {
        this.lines = [" ".repeat(20), " ".repeat(20)];
        b.splice(0, 2);
        continue;
      }
      if (b[1] === 0x51) {
        if (b.length < 3) return;
        const end = b.indexOf(0x0d, 3);
        if (end < 0) return;
        const text = String.fromCharCode(...b.slice(3, end))
          .slice(0, 20)
          .padEnd(20);
        if (b[2] === 0x41) this.lines[0] = text;
        if (b[2] === 0x42) this.lines[1] = text;
        b.splice(0, end + 1);
        continue;
      }
      b.splice(0, 2);
    }
  }
}
