// A UART on both ends of a wire, bit by bit, to test display auto-detection without hardware:
// `transmit` turns bytes into line levels at the register's setting, `receive` reads those levels
// back as a port opened at another setting would. What a wrong setting delivers is then what a
// real one does, not a guess: at a wrong baud rate bits are sampled at the wrong times; at a wrong
// parity the stop bit is read as parity (or the parity bit as the stop bit).
//
// Errors are delivered as Linux does with the termios flags serialport leaves (no IGNPAR, no
// PARMRK): a byte with a framing or parity error is read as 00.

export type Parity = "none" | "odd" | "even";

export interface UartSetting {
  baudRate: 2400 | 4800 | 9600 | 19200;
  parity: Parity;
}

/** Line samples per second: a multiple of every baud rate above. */
const SAMPLE_RATE = 19_200 * 16;

/**
 * The line levels (1 = idle/mark) for `bytes` sent 8 data bits, LSB first, 1 stop bit, with
 * `gapBits` idle bit-times after each byte (a register dripping a byte every 15 ms at 2400 baud
 * leaves about 25 bit-times between bytes).
 */
export function transmit(bytes: Uint8Array, setting: UartSetting, gapBits = 0): Uint8Array {
  const spb = SAMPLE_RATE / setting.baudRate;
  const bits: number[] = [1, 1, 1, 1];
  for (const byte of bytes) {
    bits.push(0);
    let ones = 0;
    for (let b = 0; b < 8; b++) {
      const bit = (byte >> b) & 1;
      ones += bit;
      bits.push(bit);
    }
    if (setting.parity !== "none") bits.push(setting.parity === "even" ? ones % 2 : 1 - (ones % 2));
    bits.push(1);
    for (let g = 0; g < gapBits; g++) bits.push(1);
  }
  bits.push(1, 1, 1, 1);
  const levels = new Uint8Array(bits.length * spb);
  for (const [i, bit] of bits.entries()) levels.fill(bit, i * spb, (i + 1) * spb);
  return levels;
}

/** What a port opened at `setting` reads from the line levels. */
export function receive(levels: Uint8Array, setting: UartSetting): Uint8Array {
  const spb = SAMPLE_RATE / setting.baudRate;
  const at = (i: number) => (i < levels.length ? (levels[i] as number) : 1);
  const out: number[] = [];
  let i = 1;
  while (i < levels.length) {
    // A start bit is a falling edge whose middle is still low.
    if (!(at(i - 1) === 1 && at(i) === 0)) {
      i++;
      continue;
    }
    const mid = i + Math.floor(spb / 2);
    if (at(mid) !== 0) {
      i++;
      continue;
    }
    let byte = 0;
    let ones = 0;
    for (let b = 0; b < 8; b++) {
      const bit = at(mid + (b + 1) * spb);
      ones += bit;
      byte |= bit << b;
    }
    let next = 9;
    let parityOk = true;
    if (setting.parity !== "none") {
      const p = at(mid + 9 * spb);
      parityOk = setting.parity === "even" ? (ones + p) % 2 === 0 : (ones + p) % 2 === 1;
      next = 10;
    }
    const stopAt = mid + next * spb;
    const stopOk = at(stopAt) === 1;
    out.push(stopOk && parityOk ? byte : 0);
    i = stopAt;
    // After a framing error the receiver waits for the line to go idle before the next start bit.
    while (i < levels.length && at(i) === 0) i++;
    if (i === stopAt) i++;
  }
  return Uint8Array.from(out);
}

/** Bytes as a port at `heard` reads them when the register sends at `sent`. */
export function overTheWire(
  bytes: Uint8Array,
  sent: UartSetting,
  heard: UartSetting,
  gapBits = 0,
): Uint8Array {
  return receive(transmit(bytes, sent, gapBits), heard);
}
