// mqtt.url is one broker URL or the list of a broker cluster's nodes; the code that connects,
// checks or prints it reads it as a list (a single broker is a cluster of one).

export function brokerUrls(url: string | readonly string[]): readonly string[] {
  return typeof url === "string" ? [url] : url;
}

/** mqtts:// and wss:// carry TLS; mqtt:// and ws:// do not. */
export function isTlsUrl(url: string): boolean {
  return /^(mqtts|wss):\/\//.test(url);
}
