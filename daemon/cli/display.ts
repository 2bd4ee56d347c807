// `posbridge display decode [--dialect NAME|auto] FILE|-`: a capture of the register's
// customer-display line, decoded offline (no-integration mode, docs/hardware.md): a technician
// records the wire, a vendor sends a dump. One JSON object per display update, then what a scan
// at the end of the stream would charge. Reads a file; touches no port, config or daemon.
import { readFile } from "node:fs/promises";
import { amountRules, type WholeNumbers } from "../../protocols/display-tap/amount-text.js";
import {
  type CaptureChunk,
  looksLikeCaptureText,
  parseCapture,
} from "../../protocols/display-tap/capture.js";
import { decodeStream } from "../../protocols/display-tap/decode-stream.js";
import { detectDisplay } from "../../protocols/display-tap/detect.js";
import {
  createDisplayReader,
  DISPLAY_DIALECTS,
  type DisplayDialect,
  isDisplayDialect,
} from "../../protocols/display-tap/dialects.js";
import { concatBytes } from "../../protocols/core/bytes.js";
import { type DisplayTextEncoding, textDecoder } from "../text/text-decoder.js";
import { type Command, type CommandArgs, type Io, usageError } from "./command.js";

const FORMATS = ["auto", "hex", "binary"] as const;
const ENCODINGS: readonly DisplayTextEncoding[] = ["gb18030", "ascii"];
const WHOLE: readonly WholeNumbers[] = ["refuse", "yuan", "fen"];

export const displayCommand: Command = {
  name: "display",
  summary:
    "display decode: decode a capture of the register's customer-display line (no-integration mode): each display update as JSON, then the total a scan would charge",
  usage: `posbridge display decode [--dialect NAME|auto] [--format auto|hex|binary] [options] FILE|-

Decodes bytes a register sent its customer display, recorded from the wire or sent by a vendor,
as the no-integration mode reads them (docs/hardware.md, "No-integration mode"). Prints one JSON
object per display update:
  {"lamp":"total","lines":["12.50"],"amountFen":1250,"chargeable":true,"kind":"total","basis":"lamp total"}
and last {"standingTotalFen":1250}: what a scan at the end of the stream would charge (null:
nothing). A capture without timing counts its last total as stable once the stream ends.
A summary (dialect, bytes, discarded bytes) goes to stderr.

FILE is binary (the raw bytes) or the capture text form: hex bytes, "ASCII", @ms arrival times,
# comments (test/fixtures/display-tap/README.md). '-' reads standard input.

Options:
      --dialect NAME        ${DISPLAY_DIALECTS.join(", ")},
                            or auto (default): the dialect that reads the bytes best
      --format F            auto (default: text form if the file is all text, else binary), hex, binary
      --encoding E          text on the display: gb18030 (default; ASCII and GB2312 included) or ascii
      --total-labels LIST   labels of the total, comma-separated (default 合计,总计,应收,应付,TOTAL,AMOUNT DUE)
      --whole-numbers W     a number without a decimal point: refuse (default), yuan (12 = 12.00) or
                            fen (1250 = 12.50)
      --idle-ms N           a gap that ends a frame, for timed captures (default 100)
      --stable-ms N         how long a total must stand before it is accepted (default 800)

Exit 0 when the capture was decoded (whether or not it ends on a total), 1 when it cannot be read
or no dialect reads it, 64 on bad usage.`,
  options: {
    dialect: { type: "string" },
    format: { type: "string" },
    encoding: { type: "string" },
    "total-labels": { type: "string" },
    "whole-numbers": { type: "string" },
    "idle-ms": { type: "string" },
    "stable-ms": { type: "string" },
  },
  async run(args, io) {
    if (args.positionals[0] !== "decode") {
      const what =
        args.positionals[0] === undefined ? "what? (decode)" : `unknown subcommand '${args.positionals[0]}'`;
      return usageError(io, "display", what);
    }
    if (args.positionals.length !== 2)
      return usageError(io, "display", "decode takes one FILE (or - for stdin)");
    const options = parseOptions(args, io);
    if (typeof options === "number") return options;
    return decode(args.positionals[1] as string, options, io);
  },
};

interface DecodeOptions {
  dialect: DisplayDialect | "auto";
  format: (typeof FORMATS)[number];
  encoding: DisplayTextEncoding;
  totalLabels: string[] | undefined;
  wholeNumbers: WholeNumbers;
  idleMs: number;
  stableMs: number;
}

function parseOptions({ values }: CommandArgs, io: Io): DecodeOptions | number {
  const str = (name: string, fallback: string) =>
    typeof values[name] === "string" ? (values[name] as string) : fallback;
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T | undefined => {
    const v = str(name, fallback);
    return (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
  };
  const dialect = str("dialect", "auto");
  if (dialect !== "auto" && !isDisplayDialect(dialect)) {
    return usageError(io, "display", `--dialect must be auto or one of ${DISPLAY_DIALECTS.join(", ")}`);
  }
  const format = oneOf("format", FORMATS, "auto");
  if (format === undefined) return usageError(io, "display", `--format must be ${FORMATS.join(", ")}`);
  const encoding = oneOf("encoding", ENCODINGS, "gb18030");
  if (encoding === undefined)
    return usageError(io, "display", `--encoding must be ${ENCODINGS.join(" or ")}`);
  const wholeNumbers = oneOf("whole-numbers", WHOLE, "refuse");
  if (wholeNumbers === undefined)
    return usageError(io, "display", `--whole-numbers must be ${WHOLE.join(", ")}`);
  const int = (name: string, fallback: number, min: number, max: number) => {
    const text = str(name, String(fallback));
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    return n >= min && n <= max ? n : undefined;
  };
  const idleMs = int("idle-ms", 100, 10, 5000);
  if (idleMs === undefined) return usageError(io, "display", "--idle-ms must be a whole number 10..5000");
  const stableMs = int("stable-ms", 800, 200, 10_000);
  if (stableMs === undefined)
    return usageError(io, "display", "--stable-ms must be a whole number 200..10000");
  const labels = values["total-labels"];
  const totalLabels =
    typeof labels === "string"
      ? labels
          .split(",")
          .map((l) => l.trim())
          .filter((l) => l !== "")
      : undefined;
  if (totalLabels?.length === 0)
    return usageError(io, "display", "--total-labels must name at least one label");
  try {
    amountRules(totalLabels === undefined ? {} : { total: totalLabels });
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return usageError(io, "display", `--total-labels: ${err.message}`);
  }
  return {
    dialect: dialect as DisplayDialect | "auto",
    format,
    encoding,
    totalLabels,
    wholeNumbers,
    idleMs,
    stableMs,
  };
}

async function decode(path: string, options: DecodeOptions, io: Io): Promise<number> {
  let raw: Uint8Array;
  try {
    raw = path === "-" ? await readStdin() : new Uint8Array(await readFile(path));
  } catch (err) {
    io.err(`posbridge display: cannot read ${path}: ${(err as Error).message}`);
    return 1;
  }
  const chunks = toChunks(raw, options.format);
  if ("line" in chunks) {
    io.err(`posbridge display: ${path}, line ${chunks.line}: ${chunks.message}`);
    return 1;
  }
  const rules = {
    ...(options.totalLabels === undefined ? {} : { total: options.totalLabels }),
    wholeNumbers: options.wholeNumbers,
  };
  let dialect: DisplayDialect;
  let how: string;
  if (options.dialect === "auto") {
    const all = concatBytes(...chunks.map((c) => c.bytes));
    const found = detectDisplay([{ setting: path, bytes: all }], { rules });
    if (found.best === null) {
      io.err(
        `posbridge display: ${path}: no dialect reads this capture (${found.reason}); try --dialect NAME`,
      );
      return 1;
    }
    dialect = found.best.dialect;
    how =
      found.verdict === "found"
        ? `detected, confidence ${found.confidence.toFixed(2)}`
        : `detected, but ${found.tied.join(", ")} read it equally well: pass --dialect to choose`;
  } else {
    dialect = options.dialect;
    how = "given";
  }
  const reader = createDisplayReader(dialect, {
    idleMs: options.idleMs,
    decodeText: textDecoder(options.encoding),
  });
  const result = decodeStream(chunks, reader, { stableMs: options.stableMs, rules });
  for (const u of result.updates) {
    io.out(
      JSON.stringify({
        lamp: u.lamp,
        lines: u.lines,
        amountFen: u.amountFen,
        chargeable: u.chargeable,
        kind: u.kind,
        basis: u.basis,
      }),
    );
  }
  io.out(JSON.stringify({ standingTotalFen: result.standingTotalFen }));
  const total = result.decodedBytes + result.discardedBytes;
  io.err(
    `posbridge display: ${dialect} (${how}); ${result.updates.length} updates from ${total} bytes, ${result.discardedBytes} discarded`,
  );
  return 0;
}

function toChunks(
  raw: Uint8Array,
  format: DecodeOptions["format"],
): CaptureChunk[] | { line: number; message: string } {
  if (format === "binary" || (format === "auto" && !looksLikeCaptureText(raw)))
    return [{ atMs: 0, bytes: raw }];
  const parsed = parseCapture(new TextDecoder().decode(raw));
  return parsed.ok ? parsed.chunks : { line: parsed.line, message: parsed.message };
}

async function readStdin(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of process.stdin) parts.push(new Uint8Array(chunk as Buffer));
  return concatBytes(...parts);
}
