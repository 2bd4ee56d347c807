// A register speaking the `line` profile (docs/terminal-protocol.md §13): one request per line,
// answers read from RESULT/PROGRESS/ECHO lines. The conformance tool's `--profile line` tests drive
// it through the same AutoOperator as the `ecr` VirtualRegister.
import type { RegisterRecord } from "../../daemon/demo/virtual-register.js";
import { utf8 } from "../../protocols/core/bytes.js";
import { encodeLineRequest } from "../../protocols/pos/line-codec.js";
import type { PosRequest, ResultStatus } from "../../protocols/pos/pos-messages.js";
import type { Scheme } from "../../protocols/payment/scheme.js";

export class LineRegister {
  readonly answers: RegisterRecord[] = [];
  private buffer = "";

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    private readonly mutate: (line: string) => string = (line) => line,
  ) {}

  request(req: PosRequest): void {
    this.send(utf8(this.mutate(encodeLineRequest(req))));
  }

  receive(bytes: Uint8Array): void {
    this.buffer += new TextDecoder().decode(bytes);
    for (let i = this.buffer.indexOf("\n"); i >= 0; i = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, i).replace(/\r$/, "");
      this.buffer = this.buffer.slice(i + 1);
      const f = line.split(" ");
      if (f[0] !== "RESULT" || f.length < 7) continue;
      const dash = (s: string | undefined) => (s === "-" || s === undefined ? "" : s);
      this.answers.push({
        at: Date.now(),
        answer: {
          type: "result",
          seq: "00",
          orderRef: dash(f[1]),
          status: f[2] as ResultStatus,
          amountFen: f[3] === "-" ? null : Number(f[3]),
          scheme: (dash(f[4]) || null) as Scheme | null,
          channelTradeNo: dash(f[5]),
          text: f.slice(6).join(" "),
        },
      });
    }
  }

  close(): void {}
}
