// docs/terminal-protocol.md is what a POS vendor implements from, without our code: every example
// in it must be exactly what posbridge's own encoder sends and decoder accepts, every timing must
// be the configured default, every text the register can be sent must be listed, and every
// section the conformance tool cites must exist. This test fails when code and page drift apart.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../../daemon/config/schema.js";
import { STALE_FRAME_MS } from "../../../daemon/devices/ecr-terminal.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";
import { fromHex, toHex, utf8, xorLrc } from "../../../protocols/core/bytes.js";
import { STALE_FRAME_MS as TOOL_STALE_FRAME_MS } from "../../../protocols/conformance/machine.js";
import { RULES } from "../../../protocols/conformance/rules.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { EcrFramer } from "../../../protocols/ecr/framer.js";
import { decodeEcrRequest, encodeEcrAnswer, encodeEcrRequest } from "../../../protocols/ecr/messages.js";
import { decodeBridgeAnswer } from "../../../protocols/ecr/register-side.js";
import {
  decodeLineRequest,
  DEFAULT_MAX_LINE_LENGTH,
  encodeLineAnswer,
  encodeLineRequest,
} from "../../../protocols/pos/line-codec.js";
import type { PosAnswer, ResultStatus } from "../../../protocols/pos/pos-messages.js";
import type { Scheme } from "../../../protocols/payment/scheme.js";
import { ATTENTION_TEXT, TEXT } from "../../../protocols/sale/sale-texts.js";

const doc = readFileSync(new URL("../../../docs/terminal-protocol.md", import.meta.url), "utf8");
const MAX_AMOUNT = 10_000_000;

/** Fenced blocks with this info string: their lines. */
function blocks(info: string): string[][] {
  return [...doc.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === info)
    .map((m) => (m[2] as string).replace(/\n$/, "").split("\n"));
}

/** A `frame` block: the readable DATA (FS written <FS>) and the frame's hex. */
const frames = (info: string) =>
  blocks(info).map(([data, ...hex]) => ({ data: data as string, hex: hex.join(" ") }));

describe("docs/terminal-protocol.md: the frames", () => {
  const examples = frames("frame");

  it("holds the contract's SA example byte for byte, and it is what the encoder makes", () => {
    const contract = "02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76";
    expect(doc).toContain(`\`${contract}\``);
    const made = encodeEcrFrame(
      encodeEcrRequest({ type: "sale", seq: "01", orderRef: "ORD123", amountFen: 1234 }),
    );
    expect(toHex(made)).toBe(contract);
  });

  it("has an example of every message, every stage and every status", () => {
    const codes = examples.map((e) => e.data.split("<FS>"));
    for (const code of ["SA", "QY", "CA", "RF", "EC", "ES"])
      expect(
        codes.some((f) => f[0] === code),
        code,
      ).toBe(true);
    for (const stage of ["WAIT_SCAN", "SUBMITTED", "WAIT_CUSTOMER", "RETRY_SCAN", "QUERYING", "REVERSING"])
      expect(
        codes.some((f) => f[0] === "PR" && f[3] === stage),
        stage,
      ).toBe(true);
    for (const status of ["00", "20", "30", "40", "50", "51", "60"])
      expect(
        codes.some((f) => f[0] === "RS" && f[3] === status),
        status,
      ).toBe(true);
  });

  for (const { data, hex } of frames("frame"))
    it(`${data.slice(0, 40)}: the encoder makes exactly these bytes, and they decode back`, () => {
      const bytes = utf8(data.replaceAll("<FS>", "\x1c"));
      expect(toHex(encodeEcrFrame(bytes))).toBe(hex);
      const [chunk] = new EcrFramer().push(fromHex(hex));
      expect(chunk).toEqual({ type: "frame", data: bytes });
      const request = decodeEcrRequest(bytes, { maxAmountFen: MAX_AMOUNT });
      if (request.ok) {
        expect(toHex(encodeEcrRequest(request.request))).toBe(toHex(bytes));
        return;
      }
      const answer = decodeBridgeAnswer(bytes) as PosAnswer;
      expect(answer, "neither a request nor an answer").toBeDefined();
      expect(toHex(encodeEcrAnswer(answer))).toBe(toHex(bytes));
    });

  it("its GB18030 example is what a gb18030 lane sends (¥ as the full-width ￥)", () => {
    const [gb] = frames("frame gb18030");
    const shown = gb?.data as string;
    const utf = decodeBridgeAnswer(utf8(shown.replaceAll("<FS>", "\x1c"))) as PosAnswer;
    expect(toHex(encodeEcrFrame(encodeEcrAnswer(utf, textEncoder("gb18030"))))).toBe(gb?.hex);
    expect(gb?.hex).toContain("a3 a4");
  });

  it("the LRC worked out byte by byte is the XOR of LEN..ETX of the SA example", () => {
    const [rows] = blocks("lrc");
    const sa = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
    expect(rows).toHaveLength(sa.length - 2);
    rows?.forEach((row, i) => {
      const byte = sa[i + 1] as number;
      const running = xorLrc(sa, 1, i + 2);
      expect(row).toBe(`${byte.toString(16).padStart(2, "0")} → ${running.toString(16).padStart(2, "0")}`);
    });
    expect(xorLrc(sa, 1, sa.length - 1)).toBe(0x76);
  });
});

/** Reads an answer line back into a PosAnswer (the encoder's inverse, for the round trip). */
function parseLineAnswer(line: string): PosAnswer | undefined {
  const f = line.split(" ");
  const dash = (s: string | undefined) => (s === "-" ? "" : (s ?? ""));
  if (f[0] === "PROGRESS")
    return { type: "progress", orderRef: dash(f[1]), stage: f[2] as never, text: f.slice(3).join(" ") };
  if (f[0] === "ECHO" && f.length === 3)
    return { type: "echoReply", seq: "00", brokerOnline: f[1] === "1", laneState: f[2] as string };
  if (f[0] === "RESULT")
    return {
      type: "result",
      seq: "00",
      orderRef: dash(f[1]),
      status: f[2] as ResultStatus,
      amountFen: f[3] === "-" ? null : Number(f[3]),
      scheme: (dash(f[4]) || null) as Scheme | null,
      channelTradeNo: dash(f[5]),
      text: f.slice(6).join(" "),
    };
  return undefined;
}

describe("docs/terminal-protocol.md: the line profile", () => {
  const lines = blocks("line").flat();

  it("has requests and answers", () => {
    expect(lines.filter((l) => decodeLineRequest(l, { maxAmountFen: MAX_AMOUNT }).ok)).toHaveLength(5);
    expect(lines.some((l) => l.startsWith("RESULT"))).toBe(true);
  });

  for (const line of blocks("line").flat())
    it(`${line.slice(0, 40)}: is exactly what the codec reads and writes`, () => {
      const req = decodeLineRequest(line, { maxAmountFen: MAX_AMOUNT });
      if (req.ok) {
        expect(encodeLineRequest(req.request)).toBe(`${line}\r\n`);
        return;
      }
      const answer = parseLineAnswer(line);
      expect(answer, "neither a request nor an answer").toBeDefined();
      expect(encodeLineAnswer(answer as PosAnswer)).toBe(`${line}\r\n`);
    });

  it("states the line length limit the codec has", () => {
    expect(doc).toContain(`at most ${DEFAULT_MAX_LINE_LENGTH}\n  bytes`);
  });
});

describe("docs/terminal-protocol.md: timings, texts, sections", () => {
  const props = (
    configSchema as unknown as {
      properties: Record<string, { properties: Record<string, { default?: unknown }> }>;
    }
  ).properties;
  const defaults: [string, unknown][] = [
    ["terminal.ackTimeoutMs", undefined],
    ...[
      "scanTimeoutMs",
      "firstQueryMs",
      "queryIntervalMs",
      "reverseAfterMs",
      "sendWindowMs",
      "refundAnswerWithinMs",
      "reconcileIntervalMs",
    ].map((k): [string, unknown] => [`sale.${k}`, props.sale?.properties[k]?.default]),
  ];

  it("gives every sale timing with its configured default", () => {
    for (const [key, value] of defaults) {
      if (value === undefined) continue;
      const row = doc.split("\n").find((l) => l.startsWith("|") && l.includes(`\`${key}\``));
      expect(row, key).toBeDefined();
      expect(row, key).toContain(`| ${value} ms`);
    }
    expect(doc).toMatch(/\| ACK timeout \| 1000 ms \| `terminal.ackTimeoutMs` \(100–10000\)/);
    expect(doc).toMatch(/\| reversal retries \| 5000 ms, 10 times \|/);
    expect(doc).toContain(`| inter-byte (stale frame) | ${STALE_FRAME_MS} ms |`);
    expect(TOOL_STALE_FRAME_MS).toBe(STALE_FRAME_MS);
  });

  it("lists every text the bridge sends the register", () => {
    const texts = [
      ...(Object.values(TEXT) as unknown[]).filter((t): t is string => typeof t === "string"),
      ...Object.values(ATTENTION_TEXT),
      TEXT.showCode(1234),
      TEXT.cloudRefused("0x87"),
      TEXT.payRefused("0x87"),
      TEXT.busy("ORD123"),
    ];
    for (const text of texts) expect(doc, text).toContain(text);
  });

  it("has every section the conformance tool cites", () => {
    const headings = doc.split("\n").filter((l) => l.startsWith("## "));
    for (const [rule, { section }] of Object.entries(RULES))
      expect(headings, `${rule} cites §${section}`).toContain(`## ${section}`);
  });

  it("stands alone: no link into the project's private notes", () => {
    expect(doc).not.toMatch(/shared\/|\.\.\//);
  });
});
