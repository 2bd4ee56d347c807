// The rules a register's side of the link is checked against, each pointing at the section of
// docs/terminal-protocol.md that states it. A finding names its rule, so a POS vendor reads the
// deviation, the bytes, and where the document says what to do instead.
// test/protocols/conformance/rules.test.ts checks every section named here exists in the doc.

export const RULES = {
  "frame-lrc": { section: "3. Framing", says: "LRC = XOR of every byte after STX up to and including ETX" },
  "frame-length": {
    section: "3. Framing",
    says: "LEN = the number of DATA bytes as 4 BCD digits in 2 bytes, big end first",
  },
  "frame-noise": { section: "3. Framing", says: "between frames only ACK, NAK and ENQ may be sent" },
  "frame-incomplete": {
    section: "5. Timing",
    says: "a frame's bytes follow each other; 300 ms of silence inside a frame abandons it",
  },
  "link-ack": {
    section: "4. Link layer",
    says: "every well-formed frame is answered with ACK (06) at once, within the ACK timeout",
  },
  "link-nak": {
    section: "4. Link layer",
    says: "a frame with a bad LRC, LEN or missing ETX is answered with NAK (15) and not acted on",
  },
  "link-resend": {
    section: "4. Link layer",
    says: "after a NAK, or no ACK within the ACK timeout, the same frame is sent again, byte for byte",
  },
  "link-max-sends": { section: "4. Link layer", says: "a frame is sent at most 3 times in all" },
  "link-duplicate": {
    section: "4. Link layer",
    says: "a frame repeating the previous one (same DATA) is ACKed again and not acted on twice",
  },
  "data-fields": {
    section: "6. DATA fields",
    says: "fields are separated by FS (1C), with exactly the fields the message code has",
  },
  "data-code": { section: "6. DATA fields", says: "field 1 is a request code: SA, QY, CA, RF or EC" },
  "data-seq": {
    section: "6. DATA fields",
    says: "seq is 2 digits; a resend keeps it, a new request that repeats the previous one changes it",
  },
  "data-ref": { section: "6. DATA fields", says: "orderRef and refundRef are 1-32 of A-Z a-z 0-9 _ -" },
  "data-amount": {
    section: "6. DATA fields",
    says: "amountFen is integer fen in decimal digits: no decimal point, sign or leading zero (12.34 yuan = 1234)",
  },
  "data-encoding": { section: "12. Character encoding", says: "DATA is UTF-8 (or GB18030 when configured)" },
  "sale-request": {
    section: "7. Requests (register to terminal)",
    says: "SA carries the sale's orderRef and amount; one sale at a time, the next SA after the RS",
  },
  "cancel-request": {
    section: "7. Requests (register to terminal)",
    says: "to stop a sale waiting for the customer the register sends CA with the sale's orderRef",
  },
  "query-request": {
    section: "9. RS statuses and what the register does",
    says: "after RS 30 (UNKNOWN) the register asks with QY until it gets 00 or 20",
  },
  "refund-request": {
    section: "7. Requests (register to terminal)",
    says: "RF carries orderRef, a new refundRef and the amount to refund in fen",
  },
  "status-handling": {
    section: "9. RS statuses and what the register does",
    says: "the register acts on each RS status as the table says, once per answer",
  },
  "line-format": {
    section: "13. The line profile",
    says: "one request per line, LF or CR LF terminated, fields separated by single spaces",
  },
} as const;

export type RuleId = keyof typeof RULES;
