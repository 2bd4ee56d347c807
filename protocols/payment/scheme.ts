/** The payment schemes the bridge recognises (mqtt-contract.md `Scheme`). */
export type Scheme = "WECHAT" | "ALIPAY" | "UNIONPAY" | "ECNY";
export const SCHEMES: readonly Scheme[] = ["WECHAT", "ALIPAY", "UNIONPAY", "ECNY"];

/** One row of the payment-code classifier table (payment-domain.md §1.1). */
export interface SchemeRule {
  scheme: Scheme;
  minLength: number;
  maxLength: number;
  /** Leading digit strings, e.g. ["10","11",…]. */
  prefixes: readonly string[];
}
