// The display dialects of scanbox-anchors.md §2.1.2 by name, and a reader for each. A dialect is
// the command set plus, for LED displays, the lamp form: the forms contradict each other
// (lamp-forms.ts), so each is a dialect of its own.
import { Cd5220Reader } from "./cd5220-reader.js";
import type { DisplayReader, DisplayReaderOptions } from "./display-reader.js";
import { EscPosReader } from "./escpos-reader.js";
import type { LampForm } from "./lamp-forms.js";
import { Led8Reader } from "./led8-reader.js";

export type DisplayDialect =
  | "led8-ascii"
  | "led8-binary"
  | "led8-partner"
  | "led8-bare"
  | "led8-plain"
  | "cd5220"
  | "cd5220-4row"
  | "escpos";

export interface DialectInfo {
  dialect: DisplayDialect;
  /** The drivers of §2.1.2 that send it. */
  seenIn: string;
  /** Whether a total can be told from a unit price or change at all. */
  chargeable: boolean;
  /** What the display can show: LED digits, or text (where labels such as 合计/TOTAL appear). */
  shows: "digits" | "text";
}

export const DIALECTS: readonly DialectInfo[] = [
  {
    dialect: "led8-ascii",
    seenIn: "桑达龙金 Sedsy PD1800A, 川田 Citaq Opoz6000/PD6108, generic LED-8 (ESC s '0'-'4')",
    chargeable: true,
    shows: "digits",
  },
  {
    dialect: "led8-binary",
    seenIn: "中科英泰 Wintec CD110, 海信 Hisense VC108 (ESC s 01-04, 1F 50 01)",
    chargeable: true,
    shows: "digits",
  },
  { dialect: "led8-partner", seenIn: "拍档 Partner CD7110 (ESC s 0k 01)", chargeable: true, shows: "digits" },
  {
    dialect: "led8-bare",
    seenIn: "易捷通 Ejeton VFD8C (bare '1'-'4' before the number)",
    chargeable: true,
    shows: "digits",
  },
  {
    dialect: "led8-plain",
    seenIn: "易捷通 Ejeton ET112K01842 (the number only: a total cannot be told from change)",
    chargeable: false,
    shows: "digits",
  },
  {
    dialect: "cd5220",
    seenIn: "CD5220 2x20 VFD, 海信 Hisense VG210A/VC110 (ESC Q A/B lines; totals by label)",
    chargeable: true,
    shows: "text",
  },
  {
    dialect: "cd5220-4row",
    seenIn: "海信 Hisense LC415 (ESC Q @-C, 4 rows; totals by label)",
    chargeable: true,
    shows: "text",
  },
  {
    dialect: "escpos",
    seenIn: "中科英泰 Wintec CD320, VFD220, Epson DM-D (US $ cursor, dripped text; totals by label)",
    chargeable: true,
    shows: "text",
  },
];

export const DISPLAY_DIALECTS: readonly DisplayDialect[] = DIALECTS.map((d) => d.dialect);

export function dialectInfo(dialect: DisplayDialect): DialectInfo {
  return DIALECTS.find((d) => d.dialect === dialect) as DialectInfo;
}

const LAMP_FORM: Partial<Record<DisplayDialect, LampForm>> = {
  "led8-ascii": "ascii",
  "led8-binary": "binary",
  "led8-partner": "partner",
  "led8-bare": "bare",
  "led8-plain": "none",
};

export function isDisplayDialect(name: unknown): name is DisplayDialect {
  return typeof name === "string" && (DISPLAY_DIALECTS as readonly string[]).includes(name);
}

/** A reader for `dialect`. Throws TypeError naming the bad option (an unknown dialect included). */
export function createDisplayReader(
  dialect: DisplayDialect,
  options: DisplayReaderOptions = {},
): DisplayReader {
  if (!isDisplayDialect(dialect)) {
    throw new TypeError(
      `dialect must be one of ${DISPLAY_DIALECTS.join(", ")}, got ${JSON.stringify(dialect)}`,
    );
  }
  const lampForm = LAMP_FORM[dialect];
  if (lampForm !== undefined) return new Led8Reader({ ...options, lampForm });
  if (dialect === "cd5220") return new Cd5220Reader({ ...options, rows: 2 });
  if (dialect === "cd5220-4row") return new Cd5220Reader({ ...options, rows: 4 });
  return new EscPosReader(options);
}
