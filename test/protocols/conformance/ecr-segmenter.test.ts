// The conformance tool reads frames as the bridge does (same verdicts as protocols/ecr/framer.ts)
// but keeps the bytes and says what is wrong with a bad frame.
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex, utf8, xorLrc } from "../../../protocols/core/bytes.js";
import { EcrSegmenter, type SegmentEvent } from "../../../protocols/conformance/ecr-segmenter.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { EcrFramer } from "../../../protocols/ecr/framer.js";

const SA = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");

function withLrc(frame: Uint8Array, lrc: number): Uint8Array {
  const f = frame.slice();
  f[f.length - 1] = lrc;
  return f;
}

/** The kinds of event each reader gives for the same bytes: frame, bad, control (noise aside). */
function verdicts(bytes: Uint8Array): { segmenter: string[]; framer: string[] } {
  const seg = new EcrSegmenter();
  const framer = new EcrFramer();
  const kind = (type: string) => (type === "badFrame" ? "bad" : type);
  return {
    segmenter: [...seg.push(bytes), ...seg.flush()]
      .filter((e) => e.type !== "noise" && e.type !== "incomplete")
      .map((e) => kind(e.type)),
    framer: framer
      .push(bytes)
      .filter((c) => c.type !== "discarded")
      .map((c) => kind(c.type)),
  };
}

describe("EcrSegmenter", () => {
  it("gives the frame and its bytes, however the bytes are split", () => {
    for (let cut = 0; cut <= SA.length; cut++) {
      const seg = new EcrSegmenter();
      const events = [...seg.push(SA.subarray(0, cut)), ...seg.push(SA.subarray(cut))];
      expect(events).toEqual([{ type: "frame", data: SA.subarray(3, 20), bytes: SA }]);
    }
  });

  it("agrees with the bridge's framer on good, bad-LRC, bad-LEN frames, controls and noise", () => {
    const good = encodeEcrFrame(utf8("QY\x1c02\x1cA1"));
    const cases = [
      concatBytes(SA, Uint8Array.of(0x06), good),
      concatBytes(withLrc(SA, 0x74), good),
      concatBytes(utf8("xx"), SA, Uint8Array.of(0x05)),
      concatBytes(fromHex("02 00 0e"), SA.subarray(3)), // binary LEN, then the rest: never a frame
      concatBytes(Uint8Array.of(0x15), good, good),
    ];
    for (const bytes of cases) {
      const v = verdicts(bytes);
      expect(v.segmenter, toHex(bytes)).toEqual(v.framer);
    }
  });

  it("names the LRC mistake: STX included, LEN left out, ETX left out", () => {
    const diag = (lrc: number) => {
      const [ev] = new EcrSegmenter().push(withLrc(SA, lrc));
      return ev?.type === "badFrame" ? ev.diagnosis : undefined;
    };
    expect(diag(0x76 ^ 0x02)?.message).toBe(
      "LRC is 74, expected 76 (XOR of LEN, DATA and ETX): it includes STX; start after STX",
    );
    expect(diag(xorLrc(SA, 3, 21))?.message).toContain("it leaves out the 2 LEN bytes");
    expect(diag(xorLrc(SA, 1, 20))?.message).toContain("it leaves out ETX");
    expect(diag(0x99)?.message).toBe("LRC is 99, expected 76 (XOR of LEN, DATA and ETX)");
    expect(toHex(diag(0x99)?.expected as Uint8Array)).toBe(toHex(SA));
  });

  it("a LEN that counts ETX and LRC: reported when the line goes quiet, with the right frame", () => {
    const data = SA.subarray(3, 20);
    const wrong = concatBytes(fromHex("02 00 19"), data, Uint8Array.of(0x03, 0x00));
    wrong[wrong.length - 1] = xorLrc(wrong, 1, wrong.length - 1);
    const seg = new EcrSegmenter();
    expect(seg.push(wrong)).toEqual([]);
    const [ev] = seg.flush() as [SegmentEvent];
    expect(ev.type).toBe("badFrame");
    if (ev.type !== "badFrame") return;
    expect(ev.diagnosis.message).toBe(
      "LEN 00 19 says 19 DATA bytes, but ETX follows 17; LEN counts DATA only (not ETX, not the LRC)",
    );
    expect(toHex(ev.diagnosis.expected as Uint8Array)).toBe(toHex(SA));
  });

  it("a LEN too short: the frame ends at its ETX, and what follows is read again", () => {
    const wrong = concatBytes(fromHex("02 00 15"), SA.subarray(3));
    const events = new EcrSegmenter().push(concatBytes(wrong, Uint8Array.of(0x06)));
    expect(events.map((e) => e.type)).toEqual(["badFrame", "control"]);
    expect(events[0]?.type === "badFrame" && events[0].diagnosis.message).toBe(
      "LEN 00 15 says 15 DATA bytes, but ETX follows 17; 17 as BCD is 00 17",
    );
  });

  it("noise and a cut frame keep their bytes; refuses a bad maxDataLength", () => {
    const seg = new EcrSegmenter();
    expect(seg.push(concatBytes(utf8("ab"), SA.subarray(0, 5)))).toEqual([
      { type: "noise", bytes: utf8("ab") },
    ]);
    expect(seg.pending).toBe(true);
    expect(seg.flush()).toEqual([{ type: "incomplete", bytes: SA.subarray(0, 5) }]);
    expect(() => new EcrSegmenter({ maxDataLength: 0 })).toThrow(TypeError);
  });
});
