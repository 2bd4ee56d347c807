import { createHash } from "node:crypto";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import validate, { SCHEMA_SHA256 } from "#config-validator";
import { configSchema, SECRET_KEYWORD, schemaJson } from "../../../daemon/config/schema.js";

// The validator loadConfig uses is compiled at build time (scripts/gen-config-validator.mjs).
describe("the precompiled config validator (build/gen/config-validator.js)", () => {
  it("was compiled from the schema of daemon/config/schema.ts (else: npm run build)", () => {
    expect(SCHEMA_SHA256).toBe(createHash("sha256").update(schemaJson()).digest("hex"));
  });

  it("judges documents as Ajv compiling the schema at run time does, defaults and errors alike", () => {
    const ajv = new Ajv({
      allErrors: true,
      useDefaults: true,
      strict: true,
      verbose: true,
      allowUnionTypes: true,
    });
    const runtime = ajv.addKeyword(SECRET_KEYWORD).compile(configSchema);
    const lane = { id: "l1", terminal: { path: "/dev/ttyS0" }, scanner: { path: "/dev/ttyS1" } };
    const docs: unknown[] = [
      { store: "S1", bridge: "PC1", mqtt: { url: "mqtt://broker:1883" }, lanes: [lane] },
      { store: "S1", bridge: "PC1", mqtt: { url: ["mqtt://a:1883", "mqtt://b:1883"] }, lanes: [lane] },
      {
        store: "S 1",
        bridge: "PC1",
        mqtt: { url: 7, prot: 5 },
        lanes: [{ ...lane, terminal: { baud: "x" } }],
      },
      { bridge: "PC1" },
    ];
    for (const doc of docs) {
      const a = structuredClone(doc);
      const b = structuredClone(doc);
      expect(validate(a)).toBe(runtime(b));
      expect(a).toEqual(b);
      expect(validate.errors ?? null).toEqual(runtime.errors ?? null);
    }
  });
});
