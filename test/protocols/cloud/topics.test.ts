import { describe, expect, it } from "vitest";
import { bridgeTopics, parseBridgeTopic } from "../../../protocols/cloud/topics.js";

describe("bridge topics", () => {
  it("builds the contract's topics under <prefix>/<store>/<bridge>, remote diagnostics included", () => {
    expect(bridgeTopics("posbridge/v1", "S001", "PC-1")).toEqual({
      base: "posbridge/v1/S001/PC-1",
      req: "posbridge/v1/S001/PC-1/req",
      res: "posbridge/v1/S001/PC-1/res",
      status: "posbridge/v1/S001/PC-1/status",
      event: "posbridge/v1/S001/PC-1/event",
      diagReq: "posbridge/v1/S001/PC-1/diag/req",
      diagRes: "posbridge/v1/S001/PC-1/diag/res",
    });
  });

  it("refuses ids and prefixes that would break topic routing or ACLs", () => {
    expect(() => bridgeTopics("posbridge/v1", "S/1", "B")).toThrow(/store id/);
    expect(() => bridgeTopics("posbridge/v1", "S1", "B+")).toThrow(/bridge id/);
    expect(() => bridgeTopics("posbridge/#", "S1", "B")).toThrow(/prefix/);
    expect(() => bridgeTopics("", "S1", "B")).toThrow(/prefix/);
  });

  it("parses a request topic back into store and bridge, and nothing else", () => {
    expect(parseBridgeTopic("posbridge/v1", "posbridge/v1/S1/B1/req")).toEqual({
      store: "S1",
      bridge: "B1",
      leaf: "req",
    });
    expect(parseBridgeTopic("posbridge/v1", "other/v1/S1/B1/req")).toBeUndefined();
    expect(parseBridgeTopic("posbridge/v1", "posbridge/v1/S1/req")).toBeUndefined();
    expect(parseBridgeTopic("posbridge/v1", "posbridge/v1/S 1/B1/req")).toBeUndefined();
  });
});
