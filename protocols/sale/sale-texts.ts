// Texts the register shows the cashier (PR/RS text fields). Chinese first, as the registers
// this bridge serves expect; kept in one place so a profile can swap them later.
import type { PaymentResult } from "../cloud/cloud-messages.js";
import type { CodeClass, InvalidKind, NotPaymentKind } from "../payment/classify-code.js";
import type { DisplayView } from "../display/display-view.js";
import { formatYuan } from "../payment/amount.js";
import { maskDigitsInText } from "../payment/mask.js";
import type { SaleAttention } from "./records.js";
import type { JournalFault } from "./sale-types.js";

export const TEXT = {
  showCode: (amountFen: number) => `请出示付款码 ¥${formatYuan(amountFen)}`,
  submitted: "支付中",
  waitCustomer: "请顾客在手机上确认支付",
  paid: "支付成功",
  unknown: "支付结果未知，请勿重复收款",
  amountMismatch: "支付金额不符，结果未知，请勿重复收款",
  scanTimeout: "等待扫码超时，交易取消",
  cancelled: "交易已取消",
  reversing: "正在撤销",
  cloudOffline: "支付平台离线，请稍后再试",
  /** The broker refuses the bridge (credentials, ACL); `rc` is its reason code, e.g. "0x87". */
  cloudRefused: (rc: string) => `支付平台拒绝访问(MQTT ${rc})，请联系管理员`,
  /** The broker refused the pay request: it reached no one, no money moved. */
  payRefused: (rc: string) => `支付请求被拒绝(MQTT ${rc})，未扣款，请重扫或取消`,
  busy: (orderRef: string) => `收银通道忙，正在处理订单 ${orderRef}`,
  unknownOrder: "未知订单",
  pending: "交易进行中",
  querying: "正在查询支付结果",
  waitingNetwork: "网络中断，等待发送",
  notSent: "网络中断，支付请求未发出，未扣款",
  reversedTimeout: "支付超时，已撤销，未扣款",
  inProgress: "交易处理中，请勿重复收款，稍后查询",
  cancelPending: "正在撤销，请稍后查询",
  refunded: "退款成功",
  refundFailed: "退款失败",
  refundUnknown: "退款结果未知，请勿重复退款，稍后查询",
  refundBusy: "收银通道忙，请在交易结束后退款",
  journalFault: "本地交易记录无法写入，暂停收款，请联系管理员",
  storageFull: "存储空间已满，暂停收款，请联系管理员",
  storageReadOnly: "存储只读或无写权限，暂停收款，请联系管理员",
  journalGone: "交易记录文件丢失，暂停收款，请联系管理员",
  orderAlreadyPaid: "该订单已有支付记录，请核实后再收款",
  recoveredNoScan: "重启前未完成扫码，交易取消",
  orderReused: "订单号已使用且金额不同",
  notSentRescan: "支付请求未能发出，请重扫",
  sameCode: "同一付款码重复扫描，请顾客刷新付款码后重扫",
  reverseFailedPaid: "撤销未成功，顾客已支付",
} as const;

/**
 * Why a read is not a payment code, in the cashier's words (the classifier's `reason` stays
 * English, for logs): one language on the register, whatever was scanned.
 */
export const CASHIER_REASON: Readonly<Record<NotPaymentKind | InvalidKind, (length: number) => string>> = {
  ean13: () => "13位商品条码",
  ean8: () => "8位商品条码",
  upc: () => "12位商品条码",
  url: () => "网址二维码",
  text: (n) => `${n}个字符的文字`,
  empty: () => "没有读到内容",
  fullWidth: () => "全角数字，请检查扫码枪输入法设置",
  spaces: () => "数字中有空格",
  aim: () => "带条码类型前缀，请关闭扫码枪的AIM标识",
  control: () => "含控制字符",
  noScheme: (n) => `${n}位数字，不属于任何付款方式`,
};

/** The RETRY_SCAN text for a read that is no payment code. */
export function notACodeText(cls: Exclude<CodeClass, { type: "payment" }>): string {
  const why = CASHIER_REASON[cls.kind](cls.length);
  return cls.type === "notPayment"
    ? `不是付款码（${why}），请扫顾客付款码`
    : `付款码无法识别（${why}），请重扫`;
}

/**
 * The `30` text of a sale the cloud contradicted after it ended (`SaleRecord.attention`): the
 * register's earlier answer may be wrong, so the cashier checks the customer's payment before
 * refunding or charging again.
 */
export const ATTENTION_TEXT: Record<Exclude<SaleAttention, "">, string> = {
  paidAfterReversal: "撤销后支付平台又报已扣款，请先核实顾客付款，再退款或重新收款",
  paidAfterEnd: "交易结束后支付平台又报已扣款，请先核实顾客付款，再退款或重新收款",
  amountMismatchAfterEnd: "交易结束后支付平台报扣款金额不符，请先核实顾客付款，再退款或重新收款",
};

/** The storage error the register is told while the journal cannot be written (RS 40, PR). */
export function storageText(fault: JournalFault): string {
  switch (fault) {
    case "full":
      return TEXT.storageFull;
    case "readOnly":
      return TEXT.storageReadOnly;
    case "gone":
      return TEXT.journalGone;
    case "failed":
      return TEXT.journalFault;
  }
}

/** What the cashier is told when an attempt fails and a rescan is allowed (payment-domain.md §7 rule 17). */
export function rescanText(result: PaymentResult): { text: string; reason: DisplayRescanReason } {
  const code = result.reasonCode.toUpperCase();
  if (/EXPIRE|AUTH_?CODE|AUTHCODE/.test(code))
    return { text: "付款码已失效，请顾客刷新付款码后重扫", reason: "expired" };
  if (/NOTENOUGH|NOT_ENOUGH|BALANCE|NOTSUPORTCARD/.test(code))
    return { text: "余额不足，请换卡或换支付方式", reason: "funds" };
  const message = cloudText(result.message);
  return { text: message ? `支付失败：${message}，请重扫` : "支付失败，请重扫", reason: "declined" };
}

/** The text for a failure that ends the sale. */
export function failedText(result: PaymentResult): string {
  const message = cloudText(result.message);
  return message ? `支付失败：${message}` : "支付失败";
}

/**
 * Text from the cloud reaches the register: keep it short (a frame has a size limit) and mask any
 * long digit run in it (a payment code must never be echoed).
 */
export function cloudText(text: string): string {
  return maskDigitsInText(text.replace(/[\u0000-\u001f\u007f]/g, " ").trim()).slice(0, 40);
}

/**
 * A reason code from the cloud or the broker as a record keeps it: at most 64 characters, long
 * digit runs masked. A code is an identifier like USERPAYING, but it comes from outside: a run of
 * digits in it could be a payment code, and the journal refuses a record holding one (which would
 * leave the attempt stuck on a record it can never write).
 */
export function reasonCodeOf(code: string): string {
  return maskDigitsInText(code.replace(/[\u0000-\u001f\u007f]/g, " ")).slice(0, 64);
}

export type DisplayRescanReason = Extract<DisplayView, { type: "rescan" }>["reason"];
