/** The payment schemes the bridge recognises (mqtt-contract.md `Scheme`). */
export type Scheme = "WECHAT" | "ALIPAY" | "UNIONPAY" | "ECNY";
export const SCHEMES: readonly Scheme[] = ["WECHAT", "ALIPAY", "UNIONPAY", "ECNY"];
