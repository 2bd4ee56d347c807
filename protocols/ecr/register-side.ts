// The register's half of the `ecr` DATA layer: what a POS vendor's code does (requests are
// encoded by messages.ts's encodeEcrRequest). The daemon never uses this; the demo's virtual
// register, the tests' mock register and integrators' tools do.
import { fromUtf8 } from "../core/bytes.js";
import type { Scheme } from "../payment/scheme.js";
import type { PosAnswer, ProgressStage, ResultStatus } from "../pos/pos-messages.js";
import { RESULT_STATUS_CODE } from "../pos/pos-messages.js";

const FS = "\x1c";
const STATUS_BY_CODE = new Map(Object.entries(RESULT_STATUS_CODE).map(([k, v]) => [v, k as ResultStatus]));

/** Parses a bridge → POS DATA (PR / RS / ES); undefined when it is none of them. */
export function decodeBridgeAnswer(data: Uint8Array): PosAnswer | undefined {
  const text = fromUtf8(data);
  if (text === undefined) return undefined;
  const f = text.split(FS);
  switch (f[0]) {
    case "PR":
      if (f.length !== 5) return undefined;
      return {
        type: "progress",
        orderRef: f[2] as string,
        stage: f[3] as ProgressStage,
        text: f[4] as string,
      };
    case "RS": {
      if (f.length !== 8) return undefined;
      const status = STATUS_BY_CODE.get(f[3] as string);
      if (!status) return undefined;
      return {
        type: "result",
        seq: f[1] as string,
        orderRef: f[2] as string,
        status,
        amountFen: /^[1-9][0-9]{0,11}$/.test(f[4] as string) ? Number(f[4]) : null,
        scheme: (f[5] || null) as Scheme | null,
        channelTradeNo: f[6] as string,
        text: f[7] as string,
      };
    }
    case "ES":
      if (f.length !== 4) return undefined;
      return {
        type: "echoReply",
        seq: f[1] as string,
        brokerOnline: f[2] === "1",
        laneState: f[3] as string,
      };
    default:
      return undefined;
  }
}
