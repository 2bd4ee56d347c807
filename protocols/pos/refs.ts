// orderRef / refundRef rules (shared/spec/terminal-protocol.md, "DATA": 1–32 of [A-Za-z0-9_-]).

export const REF_MAX_LENGTH = 32;
const REF_CHARS = /^[A-Za-z0-9_-]+$/;

/**
 * Returns undefined when `text` is a valid reference, else a message naming the problem.
 * `field` names the reference in the message ("orderRef" or "refundRef").
 */
export function validateRef(text: string, field = "orderRef"): string | undefined {
  if (text.length === 0) return `${field} is empty; 1-${REF_MAX_LENGTH} characters required`;
  if (text.length > REF_MAX_LENGTH) {
    return `${field} is ${text.length} characters long; at most ${REF_MAX_LENGTH} allowed`;
  }
  if (REF_CHARS.test(text)) return undefined;
  if (/\s/.test(text)) return `${field} contains whitespace; only A-Z a-z 0-9 _ - allowed`;
  return `${field} contains a character outside A-Z a-z 0-9 _ -`;
}
