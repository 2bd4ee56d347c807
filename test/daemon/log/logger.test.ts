import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BridgeError } from "../../../daemon/errors.js";
import {
  createLogger,
  deviceLogger,
  laneLogger,
  loadPinoPretty,
  maskLongDigits,
} from "../../../daemon/log/logger.js";

const CODE = "134567890123456789"; // 18 digits, a WeChat-shaped payment code

/** An in-memory destination: every line written, and the lines parsed as JSON. */
function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(
        ...String(chunk)
          .split("\n")
          .filter((l) => l !== ""),
      );
      done();
    },
  });
  return { stream, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function jsonLogger(level: "info" | "debug" = "info") {
  const out = sink();
  return { log: createLogger({ level, format: "json", destination: out.stream }), out };
}

describe("createLogger", () => {
  it("writes JSON lines with level, time and msg", () => {
    const { log, out } = jsonLogger();
    log.info({ lane: "l1" }, "hello");
    log.debug("not at info");
    const [rec] = out.records();
    expect(out.records()).toHaveLength(1);
    expect(rec).toMatchObject({ level: 30, msg: "hello", lane: "l1" });
    expect(typeof rec?.time).toBe("number");
  });

  it("redacts secret keys at the top level and one level down", () => {
    const { log, out } = jsonLogger();
    log.info({ authCode: CODE, password: "hunter2", sale: { auth_code: CODE, code: CODE } }, "sale");
    const [rec] = out.records();
    expect(rec).toMatchObject({
      authCode: "[REDACTED]",
      password: "[REDACTED]",
      sale: { auth_code: "[REDACTED]", code: "[REDACTED]" },
    });
    expect(out.lines.join("\n")).not.toContain(CODE);
    expect(out.lines.join("\n")).not.toContain("hunter2");
  });

  it("never lets an 18-digit code through in a message, a string field, an error or a number", () => {
    const { log, out } = jsonLogger();
    log.info(`scanned ${CODE} at lane 1`);
    log.info("format arg %s", CODE);
    log.info({ note: `raw=${CODE}`, deep: { deeper: { text: CODE } }, asNumber: 1234567890123456 }, "fields");
    log.error({ err: new Error(`declined ${CODE}`) }, "failed");
    const text = out.lines.join("\n");
    expect(text).not.toContain(CODE);
    expect(text).not.toContain("1234567890123456");
    const recs = out.records(); // still valid JSON
    expect(recs[0]?.msg).toBe("scanned …6789 at lane 1");
    expect(recs[1]?.msg).toBe("format arg …6789");
    expect(recs[2]).toMatchObject({
      note: "raw=…6789",
      deep: { deeper: { text: "…6789" } },
      asNumber: "…3456",
    });
  });

  it("keeps the code of a logged error, under errCode", () => {
    const { log, out } = jsonLogger();
    log.error({ err: new BridgeError("PB_PORT_OPEN", "cannot open /dev/ttyUSB0") }, "port");
    const [rec] = out.records();
    expect(rec?.err).toMatchObject({
      errCode: "PB_PORT_OPEN",
      message: "cannot open /dev/ttyUSB0 (PB_PORT_OPEN)",
    });
  });

  it("leaves short numbers and the timestamp alone", () => {
    expect(maskLongDigits('{"time":1754000000000,"amountFen":10000000,"msg":"12345678901"}')).toBe(
      '{"time":1754000000000,"amountFen":10000000,"msg":"12345678901"}',
    );
  });

  it("writes human-readable lines when format is pretty", async () => {
    const out = sink();
    const log = createLogger({ level: "info", format: "pretty", destination: out.stream });
    log.info({ authCode: CODE }, `pretty ${CODE}`);
    await new Promise((r) => setImmediate(r));
    const text = out.lines.join("\n");
    expect(text).toContain("pretty …6789");
    expect(text).not.toContain(CODE);
    expect(() => JSON.parse(out.lines[0] ?? "")).toThrow();
  });
});

describe("createLogger without pino-pretty (a production install)", () => {
  it("logs JSON, with one line saying why, when pretty output is asked for", () => {
    const out = sink();
    const log = createLogger({
      level: "info",
      format: "pretty",
      destination: out.stream,
      loadPretty: () => null,
    });
    log.info({ authCode: CODE }, "after");
    const [note, after] = out.records();
    expect(note?.msg).toBe(
      "pretty log output needs pino-pretty, which a production install leaves out: logging JSON",
    );
    expect(after).toMatchObject({ msg: "after", authCode: "[REDACTED]" });
    expect(out.lines).toHaveLength(2);
  });

  it("finds pino-pretty in a checkout", () => {
    expect(typeof loadPinoPretty()).toBe("function");
  });
});

describe("laneLogger and deviceLogger", () => {
  it("bind lane, device and path on every record", () => {
    const { log, out } = jsonLogger();
    const lane = laneLogger(log, "lane-1");
    deviceLogger(lane, "scanner", "/dev/ttyACM0").info("opened");
    lane.warn("no display");
    const [dev, laneRec] = out.records();
    expect(dev).toMatchObject({ lane: "lane-1", device: "scanner", path: "/dev/ttyACM0", msg: "opened" });
    expect(laneRec).toMatchObject({ lane: "lane-1", msg: "no display" });
    expect(laneRec).not.toHaveProperty("device");
  });

  it("make each child once", () => {
    const { log } = jsonLogger();
    const lane = laneLogger(log, "lane-1");
    expect(laneLogger(log, "lane-1")).toBe(lane);
    expect(laneLogger(log, "lane-2")).not.toBe(lane);
    expect(deviceLogger(lane, "terminal", "/dev/a")).toBe(deviceLogger(lane, "terminal", "/dev/a"));
    expect(deviceLogger(lane, "terminal", "/dev/a")).not.toBe(deviceLogger(lane, "display", "/dev/a"));
  });
});
