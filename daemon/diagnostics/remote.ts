// Remote diagnostics (diagnostics.remote: true): the support team's DiagRequest on
// <prefix>/<store>/<bridge>/diag/req, answered with a DiagResponse on …/diag/res (diag.proto).
// The same method table as the control socket, but only the methods marked `remote`: read-only
// (status, devices, doctor, bundle); anything else is refused with PB_CONTROL_REFUSED, so nothing
// asked through the broker can change the bridge or move money. One request is answered at a
// time (a few wait, more are refused), each within REMOTE_TIMEOUT_MS, and every answer stays under
// REMOTE_MAX_BYTES (a bundle gives up log lines first).
import type { MqttLink } from "../cloud/mqtt-link.js";
import { BridgeError, isBridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { scrub, type BundleFile } from "./bundle-files.js";
import {
  decodeDiagRequest,
  type DiagRequestView,
  type DiagResponseView,
  encodeDiagResponse,
} from "./diag-codec.js";
import type { DiagContext, DiagMethod } from "./methods.js";
import { tarGz } from "./tar.js";

export const REMOTE_TIMEOUT_MS = 10_000;
export const REMOTE_MAX_BYTES = 256 * 1024;
/** Requests waiting behind the one being answered; more are refused. */
export const REMOTE_QUEUE = 4;
/** A DiagRequest is small: anything bigger is not one. */
const MAX_REQUEST_BYTES = 4 * 1024;
/** Log lines a remote bundle starts with, halved while it is too big. */
const BUNDLE_LOG_LINES = 400;

export interface RemoteDeps {
  link: Pick<MqttLink, "subscribeExtra" | "unsubscribeExtra" | "publishOn">;
  methods: readonly DiagMethod[];
  context: DiagContext;
  log: Logger;
  /** Topics; default from the config (bridgeTopics). */
  topics?: { diagReq: string; diagRes: string };
}

export class RemoteDiagnostics {
  private readonly queue: { request: DiagRequestView; correlation: Buffer | undefined }[] = [];
  private busy = false;
  private stopped = false;
  private readonly topics: { diagReq: string; diagRes: string };

  constructor(private readonly deps: RemoteDeps) {
    const { config } = deps.context;
    const base = `${config.mqtt.topicPrefix}/${config.store}/${config.bridge}`;
    this.topics = deps.topics ?? { diagReq: `${base}/diag/req`, diagRes: `${base}/diag/res` };
  }

  start(): void {
    this.deps.link.subscribeExtra(this.topics.diagReq, (bytes, correlation) =>
      this.onRequest(bytes, correlation),
    );
    this.deps.log.info({ topic: this.topics.diagReq }, "remote diagnostics on: answering read-only requests");
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.deps.link.unsubscribeExtra(this.topics.diagReq);
  }

  private onRequest(bytes: Uint8Array, correlation: Buffer | undefined): void {
    if (bytes.length > MAX_REQUEST_BYTES) {
      this.deps.log.warn({ length: bytes.length }, "remote diagnostics: oversized request ignored");
      return;
    }
    const decoded = decodeDiagRequest(bytes);
    if (!decoded.ok) {
      this.deps.log.warn({ problem: decoded.error }, "remote diagnostics: undecodable request ignored");
      return;
    }
    const request = decoded.value;
    if (this.queue.length >= REMOTE_QUEUE) {
      this.answer(
        request,
        correlation,
        errorOf(new BridgeError("PB_CONTROL_BUSY", "too many remote requests waiting; ask again")),
      );
      return;
    }
    this.queue.push({ request, correlation });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next && !this.stopped; next = this.queue.shift()) {
        const started = this.deps.context.clock.monoNow();
        const answer = await this.run(next.request);
        this.deps.log.info(
          {
            requestId: next.request.requestId,
            method: next.request.method,
            ok: answer.ok,
            errCode: answer.errorCode || undefined,
            ms: this.deps.context.clock.monoNow() - started,
          },
          "remote diagnostics request answered",
        );
        this.answer(next.request, next.correlation, answer);
      }
    } finally {
      this.busy = false;
    }
  }

  private async run(request: DiagRequestView): Promise<Partial<DiagResponseView>> {
    const method = this.deps.methods.find((m) => m.name === request.method);
    const remote = this.deps.methods.filter((m) => m.remote).map((m) => m.name);
    if (!method?.remote || method.mutates)
      return errorOf(
        new BridgeError(
          method ? "PB_CONTROL_REFUSED" : "PB_CONTROL_REQUEST",
          method
            ? `'${request.method}' is not available remotely: read-only methods only (${remote.join(", ")}); ask on the store PC`
            : `no method '${request.method}' (remotely: ${remote.join(", ")})`,
        ),
      );
    const controller = new AbortController();
    const timer = this.deps.context.clock.setTimeout(() => controller.abort(), REMOTE_TIMEOUT_MS);
    try {
      if (method.name === "bundle") return await this.bundle(method, request, controller.signal);
      const result = await withTimeout(
        method.run(this.deps.context, request.params, controller.signal),
        controller.signal,
      );
      const resultJson = JSON.stringify(result);
      if (Buffer.byteLength(resultJson) > REMOTE_MAX_BYTES)
        return errorOf(
          new BridgeError("PB_CONTROL_FAILED", `the answer is larger than ${REMOTE_MAX_BYTES} bytes`),
        );
      return { ok: true, resultJson };
    } catch (err) {
      if (!isBridgeError(err))
        this.deps.log.error(
          { errCode: "PB_CONTROL_FAILED", method: method.name, err },
          "remote diagnostics method failed",
        );
      return errorOf(isBridgeError(err) ? err : new BridgeError("PB_CONTROL_FAILED", (err as Error).message));
    } finally {
      timer.cancel();
    }
  }

  /** The bundle as a .tar.gz, with fewer log lines until it fits. */
  private async bundle(
    method: DiagMethod,
    request: DiagRequestView,
    signal: AbortSignal,
  ): Promise<Partial<DiagResponseView>> {
    const { context } = this.deps;
    for (let lines = BUNDLE_LOG_LINES; ; lines = Math.floor(lines / 2)) {
      const out = (await withTimeout(
        method.run(context, { ...request.params, logLines: lines }, signal),
        signal,
      )) as {
        files: BundleFile[];
      };
      const bytes = tarGz(scrub(out.files, context.config), context.clock.wallNow());
      if (bytes.length <= REMOTE_MAX_BYTES)
        return { ok: true, bundle: bytes, truncated: lines < BUNDLE_LOG_LINES };
      if (lines === 0)
        return errorOf(
          new BridgeError("PB_CONTROL_FAILED", `the bundle is larger than ${REMOTE_MAX_BYTES} bytes`),
        );
    }
  }

  private answer(
    request: DiagRequestView,
    correlation: Buffer | undefined,
    answer: Partial<DiagResponseView>,
  ): void {
    const response: DiagResponseView = {
      requestId: request.requestId,
      ok: false,
      resultJson: "",
      bundle: new Uint8Array(0),
      errorCode: "",
      errorMessage: "",
      version: this.deps.context.version,
      truncated: false,
      ...answer,
    };
    if (!this.deps.link.publishOn(this.topics.diagRes, encodeDiagResponse(response), correlation))
      this.deps.log.warn(
        { requestId: request.requestId },
        "remote diagnostics answer not sent: broker not connected",
      );
  }
}

function errorOf(err: BridgeError): Partial<DiagResponseView> {
  return { ok: false, errorCode: err.code, errorMessage: err.message };
}

async function withTimeout<T>(work: Promise<T> | AsyncIterable<T>, signal: AbortSignal): Promise<T> {
  if (!(work instanceof Promise))
    throw new BridgeError("PB_CONTROL_REFUSED", "a streaming method cannot be asked remotely");
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      const fail = () =>
        reject(new BridgeError("PB_CONTROL_TIMEOUT", `no answer within ${REMOTE_TIMEOUT_MS / 1000} s`));
      if (signal.aborted) fail();
      else signal.addEventListener("abort", fail, { once: true });
    }),
  ]);
}
