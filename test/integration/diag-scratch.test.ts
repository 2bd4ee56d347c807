import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";

describe("scratch", () => {
  let rig: BridgeRig;
  beforeAll(async () => {
    rig = await startBridgeRig({ name: "scratch", display: true, logLevel: "info" });
  });
  afterAll(async () => rig?.stop());
  it("runs", async () => {
    const s = await rig.cli(["status"]);
    console.log(s.code, s.stdout, s.stderr);
    const j = await rig.cli(["status", "--json"]);
    console.log(j.stdout.slice(0, 3000));
    const l = await rig.cli(["log-level"]);
    console.log(l.code, l.stdout, l.stderr);
    const r = await rig.cli(["test", "register", "lane1"]);
    console.log(r.code, r.stdout, r.stderr);
    const d = await rig.cli(["test", "display", "lane1", "HELLO|WORLD"]);
    console.log(d.code, d.stdout, d.stderr);
    expect(1).toBe(1);
  });
});
