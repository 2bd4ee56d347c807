// Topic names of the cloud contract (mqtt-contract.md, "Identity and topics").

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export interface BridgeTopics {
  base: string;
  req: string;
  res: string;
  status: string;
  event: string;
  /** Remote diagnostics (diag.proto): the support team's requests, and the bridge's answers. */
  diagReq: string;
  diagRes: string;
}

export function bridgeTopics(topicPrefix: string, store: string, bridge: string): BridgeTopics {
  if (!ID_PATTERN.test(store)) throw new TypeError(`store id must match ${ID_PATTERN}`);
  if (!ID_PATTERN.test(bridge)) throw new TypeError(`bridge id must match ${ID_PATTERN}`);
  if (!topicPrefix || /[#+]/.test(topicPrefix) || topicPrefix.endsWith("/")) {
    throw new TypeError("topic prefix must be non-empty, without wildcards or a trailing /");
  }
  const base = `${topicPrefix}/${store}/${bridge}`;
  return {
    base,
    req: `${base}/req`,
    res: `${base}/res`,
    status: `${base}/status`,
    event: `${base}/event`,
    diagReq: `${base}/diag/req`,
    diagRes: `${base}/diag/res`,
  };
}

/** Splits `<prefix>/<store>/<bridge>/<leaf>`; undefined when the topic is not of that shape. */
export function parseBridgeTopic(
  topicPrefix: string,
  topic: string,
): { store: string; bridge: string; leaf: string } | undefined {
  if (!topic.startsWith(`${topicPrefix}/`)) return undefined;
  const parts = topic.slice(topicPrefix.length + 1).split("/");
  if (parts.length !== 3) return undefined;
  const [store, bridge, leaf] = parts as [string, string, string];
  if (!ID_PATTERN.test(store) || !ID_PATTERN.test(bridge)) return undefined;
  return { store, bridge, leaf };
}
