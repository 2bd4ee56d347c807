// MockPeer.unplug() behaves like a real unplug seen through SerialPortStream: the daemon's port
// closes with an error (onClose fires), the path cannot be opened until replug().
import { describe, expect, it } from "vitest";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";

const settings = (path: string) => ({
  path,
  baudRate: 9600,
  dataBits: 8 as const,
  parity: "none" as const,
  stopBits: 1 as const,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("createMockSerial", () => {
  it("unplug() closes the daemon's port with an error and blocks opening until replug()", async () => {
    const serial = createMockSerial();
    const peer = serial.createPort("/dev/mock-unplug-1");
    const port = await serial.opener.open(settings(peer.path));
    const data: string[] = [];
    const closes: (Error | undefined)[] = [];
    port.onData((b) => data.push(Buffer.from(b).toString()));
    port.onClose((err) => closes.push(err));
    await sleep(5);
    peer.emit("before");
    await sleep(5);
    expect(data).toEqual(["before"]);

    await peer.unplug();
    expect(closes).toHaveLength(1);
    expect(closes[0]?.message).toMatch(/EIO/);
    expect(peer.isOpen).toBe(false);
    await expect(serial.opener.open(settings(peer.path))).rejects.toThrow(/ENOENT/);

    peer.replug();
    const again = await serial.opener.open(settings(peer.path));
    const after: string[] = [];
    again.onData((b) => after.push(Buffer.from(b).toString()));
    await sleep(5);
    peer.emit("after");
    await sleep(5);
    expect(after).toEqual(["after"]);
    await again.close();
  });

  it("a handler registered after the close is called at once, with the same error", async () => {
    const serial = createMockSerial();
    const peer = serial.createPort("/dev/mock-unplug-2");
    const port = await serial.opener.open(settings(peer.path));
    port.onData(() => {});
    await sleep(5);
    await peer.unplug();
    const late: (Error | undefined)[] = [];
    port.onClose((err) => late.push(err));
    expect(late[0]?.message).toMatch(/EIO/);
  });
});
