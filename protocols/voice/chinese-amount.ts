// An amount in fen read aloud the Chinese way, for voice prompts (scanbox-anchors.md §2.2:
// cloud speakers and Yilianyun's clips say "收款 十二点五 元"). Integer arithmetic only.
//
//   1250 → 十二点五元      1205 → 十二点零五元    5 → 零点零五元     10000 → 一百元
//   1000 → 十元            11000 → 一百一十元     1001000 → 一万零一十元    0 → 零元
//
// Rules: digits in groups of four (个, 万, 亿, 万亿); a run of zeros inside a number is one 零; zeros
// at the end are not spoken; 一十 is said 十 only at the very start (十二, 十万, but 一百一十,
// 一万零一十). After the point each digit is said on its own, trailing zeros dropped (12.50 →
// 十二点五). 二 throughout, never 两: the digit clips of a clip-based player are 零–九.

const DIGITS = "零一二三四五六七八九";
const IN_GROUP = ["", "十", "百", "千"];
const GROUPS = ["", "万", "亿", "万亿"];

/** A whole number 0 ≤ n < 10^16, in Chinese numerals. */
export function chineseInteger(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a safe integer >= 0, got ${n}`);
  if (n === 0) return "零";
  const groups: number[] = [];
  for (let rest = n; rest > 0; rest = (rest - (rest % 10_000)) / 10_000) groups.push(rest % 10_000);
  let out = "";
  let gap = false;
  for (let k = groups.length - 1; k >= 0; k--) {
    const g = groups[k] as number;
    if (g === 0) {
      gap = out !== "";
      continue;
    }
    // A group below 1000 after a spoken one, or after an empty group, starts with its zeros: 零.
    if (out !== "" && (gap || g < 1000)) out += "零";
    out += group(g, out === "") + GROUPS[k];
    gap = false;
  }
  return out;
}

function group(g: number, leading: boolean): string {
  const digits = g.toString().padStart(4, "0");
  let out = "";
  let zero = false;
  for (let pos = 3; pos >= 0; pos--) {
    const d = Number(digits[3 - pos]);
    if (d === 0) {
      if (out !== "") zero = true;
      continue;
    }
    if (zero) out += "零";
    zero = false;
    out += DIGITS[d] + (IN_GROUP[pos] as string);
  }
  return leading && out.startsWith("一十") ? out.slice(1) : out;
}

/** `fen` as spoken: "十二点五元". Throws RangeError for a negative or non-integer amount. */
export function chineseYuan(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0)
    throw new RangeError(`fen must be a safe integer >= 0, got ${fen}`);
  const cents = fen % 100;
  const yuan = (fen - cents) / 100;
  const decimals = cents.toString().padStart(2, "0").replace(/0+$/, "");
  const after = decimals === "" ? "" : `点${[...decimals].map((d) => DIGITS[Number(d)]).join("")}`;
  return `${chineseInteger(yuan)}${after}元`;
}
