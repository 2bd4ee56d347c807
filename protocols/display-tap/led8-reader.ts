// Reads what a register sends an 8-digit LED price display (客显): the number in `ESC Q A … CR`
// and the 单价/合计/收款/找零 lamp in one of the forms of lamp-forms.ts (scanbox-anchors.md §2.1.2,
// device-protocols.md §2.3). The encoder for the same display is protocols/display/led8.ts.
//
//   1B 51 41 text 0D   the number ("12.50"; Citaq writes "Welcome" text here too)
//   1B 73 n / …        the lamp, per form
//   0C                 clear the number (the lamp stays as it was)
//   1B 40              reset: number cleared, lamps off
//
// Anything else is noise: in particular a digit outside `ESC Q A … CR` is never part of the
// amount (with the bare form, '0'–'4' there is a lamp code). `ESC Q` with another row than A is
// not an LED command: it is dropped with its text, which is what tells detect.ts that a two-line
// text display is talking.
import {
  DisplayReader,
  type DisplayReaderOptions,
  type Grammar,
  readerSettings,
  type Step,
} from "./display-reader.js";
import { command, ESC, junk, readLineWrite } from "./grammar-parts.js";
import {
  ASCII_LAMPS,
  BARE_LAMPS,
  BINARY_LAMPS,
  LAMP_FORMS,
  type LampForm,
  PARTNER_LAMPS,
  THANKS_LAMP,
} from "./lamp-forms.js";
import type { Lamp } from "./screen-event.js";

export interface Led8ReaderOptions extends DisplayReaderOptions {
  lampForm: LampForm;
}

const FF = 0x0c;
const US = 0x1f;

export class Led8Reader extends DisplayReader {
  readonly lampForm: LampForm;

  constructor(options: Led8ReaderOptions) {
    const o = options as { lampForm?: unknown } | null;
    const lampForm = o?.lampForm;
    if (!LAMP_FORMS.includes(lampForm as LampForm)) {
      throw new TypeError(
        `lampForm must be one of ${LAMP_FORMS.join(", ")}, got ${JSON.stringify(lampForm)}`,
      );
    }
    const settings = readerSettings(options);
    super(led8Grammar(lampForm as LampForm, settings.maxLineBytes), settings);
    this.lampForm = lampForm as LampForm;
  }
}

export function led8Grammar(lampForm: LampForm, maxLineBytes: number): Grammar {
  const setLamp = (length: number, lamp: Lamp): Step =>
    command(length, "lamp", (s) => {
      s.lamp = lamp;
    });

  const escS = (bytes: Uint8Array, at: number, end: number): Step => {
    if (lampForm === "ascii" || lampForm === "binary") {
      if (end - at < 3) return { kind: "need" };
      const lamp = (lampForm === "ascii" ? ASCII_LAMPS : BINARY_LAMPS).get(bytes[at + 2] as number);
      return lamp === undefined ? junk(3, "unknownCommand") : setLamp(3, lamp);
    }
    if (lampForm === "partner") {
      if (end - at < 4) return { kind: "need" };
      const lamp = PARTNER_LAMPS.get(bytes[at + 2] as number);
      // Without its 01 the fourth byte may start the next command: drop three, read on from there.
      if (lamp === undefined || bytes[at + 3] !== 0x01) return junk(3, "unknownCommand");
      return setLamp(4, lamp);
    }
    return junk(2, "unknownCommand");
  };

  return {
    rows: 1,
    columns: 8,
    initialLamp: lampForm === "none" ? null : "unknown",
    // ESC Q A, the text, CR.
    maxCommandBytes: maxLineBytes + 4,
    read(bytes, at, end) {
      const b = bytes[at] as number;
      if (b === ESC) {
        if (end - at < 2) return { kind: "need" };
        const op = bytes[at + 1] as number;
        if (op === 0x51) {
          if (end - at < 3) return { kind: "need" };
          if (bytes[at + 2] !== 0x41) return junk(3, "unknownCommand", true);
          const line = readLineWrite(bytes, at, end, maxLineBytes);
          if (line.kind !== "line") return line;
          const text = bytes.slice(line.textFrom, line.textTo);
          return command(line.length, "lines", (s) => s.grid.setRow(0, text));
        }
        if (op === 0x40) {
          return command(2, "clear", (s) => {
            s.grid.clear();
            if (s.lamp !== null) s.lamp = "off";
          });
        }
        if (op === 0x73) return escS(bytes, at, end);
        return junk(2, "unknownCommand");
      }
      if (b === FF) return command(1, "clear", (s) => s.grid.clear());
      if (lampForm === "binary" && b === US) {
        if (end - at < THANKS_LAMP.length) return { kind: "need" };
        if (bytes[at + 1] === THANKS_LAMP[1] && bytes[at + 2] === THANKS_LAMP[2]) return setLamp(3, "thanks");
        return junk(2, "unknownCommand");
      }
      if (lampForm === "bare") {
        const lamp = BARE_LAMPS.get(b);
        if (lamp !== undefined) return setLamp(1, lamp);
      }
      return junk(1, "noise");
    },
  };
}
