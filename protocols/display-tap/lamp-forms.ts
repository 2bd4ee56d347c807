// The ways Chinese POS drivers light the 单价/合计/收款/找零 lamps of an LED price display
// (scanbox-anchors.md §2.1.2, read from the efuture javaPos LineDisplay drivers in
// github188/GIT JavaPos/device/LineDisplay/*.java, and ch593030323/fastfd20200204).
//
// The forms contradict each other: `1B 73 03` is 收款 (cash received) in the binary form and the
// first three bytes of 合计 (total) in Partner's; `1B 73 02` is 合计 in the binary form and the
// start of 单价 (unit price) in Partner's. Read with the wrong form, a unit price becomes a total.
// So the form is part of the dialect, fixed per register (or picked by detect.ts from the shape of
// the bytes: Partner's fourth byte is always 01), never guessed command by command.
import type { Lamp } from "./screen-event.js";

export type LampForm =
  /** `ESC s n`, n ASCII '0'–'5': Sedsy PD1800A, Citaq Opoz6000/PD6108, the fastfd LED-8 driver. */
  | "ascii"
  /** `ESC s n`, n binary 00–04, and `1F 50 01` for the 谢谢惠顾 lamp: Wintec CD110, Hisense VC108. */
  | "binary"
  /** `ESC s k 01`, k 02–05 (offset by one): Partner CD7110. */
  | "partner"
  /** A bare byte '1'–'4' before the number, no ESC: Ejeton VFD8C. */
  | "bare"
  /** No lamps at all (Ejeton ET112K01842): the number alone, never known to be a total. */
  | "none";

export const LAMP_FORMS: readonly LampForm[] = ["ascii", "binary", "partner", "bare", "none"];

/**
 * ASCII form. '0' is "all off" in every driver; fastfd clamps n to 0..5 and treats 5 as off too.
 */
export const ASCII_LAMPS: ReadonlyMap<number, Lamp> = new Map<number, Lamp>([
  [0x30, "off"],
  [0x31, "price"],
  [0x32, "total"],
  [0x33, "collect"],
  [0x34, "change"],
  [0x35, "off"],
]);

/**
 * Binary form. The Wintec driver sends 01–04; 00 as "off" is taken from the ASCII form's '0'
 * (derived, not seen in a driver). An unknown value is never a lamp.
 */
export const BINARY_LAMPS: ReadonlyMap<number, Lamp> = new Map<number, Lamp>([
  [0x00, "off"],
  [0x01, "price"],
  [0x02, "total"],
  [0x03, "collect"],
  [0x04, "change"],
]);

/** Wintec's `1F 50 01`: the 谢谢惠顾 lamp the driver lights (after a clear) on "Welcome". */
export const THANKS_LAMP: readonly number[] = [0x1f, 0x50, 0x01];

/**
 * Partner form, `ESC s k 01`. The driver sends k = 02–05; k = 01 as "off" follows the offset by
 * one (derived). The fourth byte is always 01.
 */
export const PARTNER_LAMPS: ReadonlyMap<number, Lamp> = new Map<number, Lamp>([
  [0x01, "off"],
  [0x02, "price"],
  [0x03, "total"],
  [0x04, "collect"],
  [0x05, "change"],
]);

/** Bare form: Ejeton sends '1'–'4'; '0' as "off" follows the ASCII form (derived). */
export const BARE_LAMPS: ReadonlyMap<number, Lamp> = new Map<number, Lamp>([
  [0x30, "off"],
  [0x31, "price"],
  [0x32, "total"],
  [0x33, "collect"],
  [0x34, "change"],
]);
