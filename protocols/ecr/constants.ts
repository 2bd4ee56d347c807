// Byte values and message codes of the `ecr` profile (shared/spec/terminal-protocol.md, "Framing", "DATA").

/** Start of a frame; the framer resynchronises on it. */
export const STX = 0x02;
/** Ends DATA; it is the last byte covered by the LRC. */
export const ETX = 0x03;
/** Link test from the POS: answered with ACK while the daemon runs. */
export const ENQ = 0x05;
export const ACK = 0x06;
export const NAK = 0x15;
/** Field separator inside DATA. */
export const FS = 0x1c;

/** One-byte link controls that may appear between frames. */
export type EcrControlByte = typeof ENQ | typeof ACK | typeof NAK;

/** Largest LEN the two BCD bytes can carry. */
export const MAX_BCD_LENGTH = 9999;
/** Default cap on DATA length; longer frames are NAKed. */
export const DEFAULT_MAX_DATA_LENGTH = 1024;

/** Request codes, POS → bridge. */
export const REQUEST_CODES = ["SA", "QY", "CA", "RF", "EC"] as const;
export type EcrRequestCode = (typeof REQUEST_CODES)[number];

/** Answer codes, bridge → POS. */
export const ANSWER_CODES = ["PR", "RS", "ES"] as const;
export type EcrAnswerCode = (typeof ANSWER_CODES)[number];

/** Progress frames are not answers to one request, so they carry seq 00. */
export const PROGRESS_SEQ = "00";
