// A broken config file must stop the daemon at once with exit code 78 and name the field.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TestCa } from "../support/certs.js";
import { startDaemon } from "../support/daemon-process.js";

const dir = mkdtempSync(join(tmpdir(), "posbridge-cfg-"));

function configFile(text: string): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe("posbridge run with a bad config", () => {
  it("exits 78 naming `lanes` when lanes are missing", async () => {
    const d = startDaemon([
      "run",
      "--config",
      configFile("store: S1\nbridge: B1\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\n"),
    ]);
    expect(await d.exit).toBe(78);
    expect(d.lines.join("\n")).toMatch(/lanes/);
  });

  it("exits 78 naming the field of a wrong baud rate", async () => {
    const d = startDaemon([
      "run",
      "--config",
      configFile(
        "store: S1\nbridge: B1\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null, profile: ecr, baudRate: 12 }\n    scanner: { path: /dev/zero, type: serial }\n",
      ),
    ]);
    expect(await d.exit).toBe(78);
    expect(d.lines.join("\n")).toMatch(/lanes\[0\]\.terminal\.baudRate/);
  });

  it("exits 78 when the file does not exist, naming the path", async () => {
    const d = startDaemon(["run", "--config", join(dir, "nope.yaml")]);
    expect(await d.exit).toBe(78);
    expect(d.lines.join("\n")).toContain("nope.yaml");
  });

  it("exits 78 naming mqtt.tls.ca when the CA file cannot be read, before opening any port", async () => {
    const d = startDaemon([
      "run",
      "--config",
      configFile(
        "store: S1\nbridge: B1\nmqtt: { url: 'mqtts://127.0.0.1:8883', tls: { ca: /nonexistent/ca.pem } }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null, profile: ecr }\n    scanner: { path: /dev/zero, type: serial }\n",
      ),
    ]);
    expect(await d.exit).toBe(78);
    const text = d.lines.join("\n");
    expect(text).toMatch(/mqtt\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
    expect(text).not.toContain("device opened");
  });

  it("check-config accepts the shipped example as shipped, warning that its devices are not plugged in here", async () => {
    const example = new URL("../../schema/posbridge.example.yaml", import.meta.url).pathname;
    const shipped = startDaemon(["check-config", "--config", example]);
    expect(await shipped.exit).toBe(0);
    const text = shipped.lines.join("\n");
    expect(text).toMatch(/posbridge\.example\.yaml: valid/);
    expect(text).toMatch(
      /warning: lanes\[0\]\.terminal\.path: \/dev\/serial\/by-id\/usb-FTDI\S+ does not exist: the terminal is not plugged in/,
    );

    // Its commented-out private CA, set by an environment override: checked, and accepted when real.
    const d = startDaemon(["check-config", "--config", example], {
      POSBRIDGE_MQTT__TLS__CA: new TestCa().cert,
    });
    expect(await d.exit).toBe(0);
    expect(d.lines.join("\n")).toMatch(/valid/);
    const bad = startDaemon(["check-config", "--config", example], {
      POSBRIDGE_MQTT__TLS__CA: "/nonexistent/ca.pem",
    });
    expect(await bad.exit).toBe(78);
    expect(bad.lines.join("\n")).toMatch(/mqtt\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
  });
});
