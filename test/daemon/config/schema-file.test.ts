import { readFileSync, writeFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema, SECRET_KEYWORD, schemaJson } from "../../../daemon/config/schema.js";

const schemaFile = new URL("../../../schema/posbridge.schema.json", import.meta.url);
const exampleFile = new URL("../../../schema/posbridge.example.yaml", import.meta.url);

describe("schema/posbridge.schema.json", () => {
  // When schema.ts changes, rewrite the file with:
  //   UPDATE_SCHEMA=1 npx vitest run test/daemon/config/schema-file.test.ts
  it("is daemon/config/schema.ts written out", () => {
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaFile, schemaJson());
    const text = readFileSync(schemaFile, "utf8");
    expect(JSON.parse(text), "stale: rerun with UPDATE_SCHEMA=1").toEqual(configSchema);
    expect(text, "same content, different layout: rerun with UPDATE_SCHEMA=1").toBe(schemaJson());
  });

  it("is a valid draft-07 schema that strict Ajv compiles (with the secret keyword, and only with it)", () => {
    // allowUnionTypes: mqtt.url is a string or a list of strings, as load-config.ts compiles it.
    const strict = () => new Ajv({ strict: true, allowUnionTypes: true });
    expect(() => strict().addKeyword(SECRET_KEYWORD).compile(configSchema)).not.toThrow();
    expect(() => strict().compile(configSchema)).toThrow(/unknown keyword: "secret"/);
  });

  it("describes every property, and forbids unknown ones in every object", () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, at: string): void => {
      if (node.type === "object" && node.additionalProperties !== false)
        missing.push(`${at}: additionalProperties`);
      for (const [key, child] of Object.entries(
        (node.properties ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        if (typeof child.description !== "string") missing.push(`${at}.${key}: description`);
        walk(child, `${at}.${key}`);
      }
      if (node.items) walk(node.items as Record<string, unknown>, `${at}[]`);
    };
    walk(configSchema as unknown as Record<string, unknown>, "config");
    expect(missing).toEqual([]);
  });
});

describe("schema/posbridge.example.yaml", () => {
  const text = readFileSync(exampleFile, "utf8");

  it("points the YAML language server at the schema on its first line", () => {
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./posbridge.schema.json");
  });

  it("validates against the schema", () => {
    const validate = new Ajv({ allErrors: true }).addKeyword(SECRET_KEYWORD).compile(configSchema);
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });
});
